using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Win32.SafeHandles;
using TradeStore.Core.Options;
using TradeStore.Core.Security;

namespace TradeStore.Storage.CommitLog;

/// <summary>
/// The journal log: TradeStore's point of durability (issue #12). An append-only sequence of checksummed
/// <see cref="LogRecord"/>s, one per journal event, contiguous by <c>seq</c>, kept in segment files
/// <c>DIR/journal/{firstSeq:D20}.log</c>. One <see cref="Append"/> writes a whole group of records with one write and,
/// with <see cref="DurabilityMode.Fsync"/>, one <c>fdatasync</c>: that is the group commit every acknowledgement waits
/// for. DuckDB is brought up to date behind it, and a segment is deleted (<see cref="RecycleThrough"/>) only once a
/// DuckDB checkpoint holds all of its records.
/// </summary>
/// <remarks>
/// <para>Segment layout: a 32-byte header (<c>"TSJLOG01"</c>, format version, first seq, CRC-32C of the header), then
/// records framed as <see cref="LogRecordFormat"/> describes. A segment is sealed when it passes
/// <see cref="JournalLogOptions.SegmentBytes"/>: its successor is created, then a <see cref="SegmentSeal"/> naming it is
/// written after its last record, so a sealed last segment means the newest ones were lost (exit 5). Only the last
/// segment is written to.</para>
/// <para>Segments are pre-zeroed: the writer overwrites zeros a <see cref="SegmentPreparer"/> wrote and synced ahead of
/// time, so a group commit's fdatasync has no file size to journal; the writer keeps its own end of the log, and zeros
/// after the last whole record are the end of the log, not damage. No append waits for zero-filling: without a
/// prepared file a segment is written as before and given a zero tail later.</para>
/// <para>At <see cref="Open"/> every segment is read and checked. A damaged record at the end of the last segment with
/// nothing intact after it (also one half written over zeros) is what a crash leaves: it is cut, the bytes kept beside it, and reported in
/// <see cref="TornTail"/>; unless, with fsync durability, DuckDB already holds seqs past the last intact record (they were
/// durable and acknowledged, so the tail is damage). Anything else (damage with intact records after it, in a sealed segment, a bad header, a gap
/// between segments) throws <see cref="JournalLogCorruptException"/> naming the file and offset, changing nothing.
/// <see cref="Check"/> reads and decides with the same code and changes nothing at all (<c>tradestore verify</c>).</para>
/// <para>Designed for shipping (issue #14): records are addressed by seq (<see cref="ReadFrom"/>), carry a term, and a
/// copy is appended with the same checksums through the same <see cref="Append"/>.</para>
/// <para>One writer at a time (the engine's writer thread); readers may run concurrently.</para>
/// </remarks>
public sealed partial class JournalLog : IDisposable, IJournalLogView
{
    /// <summary>The folder beside <c>tradestore.duckdb</c> that holds the segments.</summary>
    public const string DirectoryName = "journal";

    /// <summary>The extension of a segment file.</summary>
    public const string SegmentExtension = ".log";

    /// <summary>
    /// What <c>recover --from duckdb</c> appends to the log's folder name for the new log it writes beside a damaged one
    /// (<c>journal.rebuilt/</c>), before it moves the damaged one aside and the new one into its place.
    /// </summary>
    public const string RebuiltSuffix = ".rebuilt";

    private const int SegmentHeaderSize = 32;
    private const int FormatVersion = 1;
    private const int SparseEvery = 1024;

    /// <summary><c>ENOSPC</c>, the error a full disk gives a write.</summary>
    private const int NoSpaceLeftOnDevice = 28;

    /// <summary>A torn tail is cut to the end of the page holding its last written byte (a write reaches the disk in pages).</summary>
    private const int TornPage = 4096;

    /// <summary>Zero bytes <see cref="Begin"/> writes after the first segment's header, so a new log overwrites from its first record while the full-size next segment is prepared.</summary>
    private const long InitialZeroBytes = 1L << 20;
    private static readonly byte[] Magic = "TSJLOG01"u8.ToArray();

    private readonly object _gate = new();
    private readonly List<Segment> _segments;
    private readonly JournalLogOptions _options;
    private readonly SegmentPreparer _preparer;
    private SafeFileHandle? _active;
    private long _lastSeq;
    private long _lastTerm;
    private bool _broken;
    private bool _written;
    private bool _inService;
    private readonly List<TermRun> _termRuns = [];

    private JournalLog(string directory, JournalLogOptions options, List<Segment> segments, TornTail? tornTail, bool created)
    {
        WasCreated = created;
        Directory = directory;
        _options = options;
        _segments = segments;
        _preparer = new SegmentPreparer(directory, options.SegmentBytes);
        TornTail = tornTail;
        _lastSeq = segments.Count == 0 ? 0 : segments[^1].LastSeq;
        _lastTerm = segments.Count == 0 ? 0 : segments.Select(s => s.LastTerm).Max();
        foreach (var segment in segments)
        {
            foreach (var run in segment.Runs)
            {
                AddRun(run.Term, run.FirstSeq);
            }
        }
        if (segments.Count > 0)
        {
            _active = OpenForAppend(segments[^1].Path);
        }
    }

    /// <summary>Whether a failed append could not be undone: the log then refuses every append until the process restarts.</summary>
    public bool IsBroken
    {
        get
        {
            lock (_gate)
            {
                return _broken;
            }
        }
    }

    /// <summary>The folder of the segments.</summary>
    public string Directory { get; }

    /// <summary>Whether <see cref="Open"/> created the folder (a new data directory, or one written before the log existed).</summary>
    public bool WasCreated { get; }

    /// <summary>What <see cref="Open"/> cut from the end of the log, or <see langword="null"/>.</summary>
    public TornTail? TornTail { get; }

    /// <summary>Whether the log has no segment yet (a new data directory, or one written before the log existed).</summary>
    public bool IsEmpty
    {
        get
        {
            lock (_gate)
            {
                return _segments.Count == 0;
            }
        }
    }

    /// <summary>The oldest seq the log holds (or would hold next, when it holds none).</summary>
    public long FirstSeq
    {
        get
        {
            lock (_gate)
            {
                return _segments.Count == 0 ? 1 : _segments[0].FirstSeq;
            }
        }
    }

    /// <summary>The last seq appended (durable with <see cref="DurabilityMode.Fsync"/>); 0 when the log holds none.</summary>
    public long LastSeq => Interlocked.Read(ref _lastSeq);

    /// <summary>The term of the last record appended (0 when the log holds none, or only standalone records).</summary>
    public long LastTerm => Interlocked.Read(ref _lastTerm);

    /// <summary>
    /// Where each term starts in the log, oldest first: consecutive records of one term form one run. Two logs agree up to
    /// a seq they both hold with the same term (every record of a term was written once, by that term's leader), so
    /// comparing runs finds where a follower's log and the leader's part (<see cref="TermRun.MatchPoint"/>).
    /// </summary>
    public IReadOnlyList<TermRun> TermRuns
    {
        get
        {
            lock (_gate)
            {
                return [.. _termRuns];
            }
        }
    }

    /// <summary>The seq the next appended record must carry.</summary>
    public long NextSeq
    {
        get
        {
            lock (_gate)
            {
                return _segments.Count == 0 ? 1 : _segments[^1].LastSeq + 1;
            }
        }
    }

    /// <summary>Segment files, oldest first.</summary>
    public IReadOnlyList<string> SegmentFiles
    {
        get
        {
            lock (_gate)
            {
                return [.. _segments.Select(s => s.Path)];
            }
        }
    }

    /// <summary>
    /// The last seq of the oldest sealed segment: once a DuckDB checkpoint holds it, <see cref="RecycleThrough"/> can
    /// delete that segment. <see langword="null"/> while only the segment being written exists.
    /// </summary>
    public long? OldestSealedLastSeq
    {
        get
        {
            lock (_gate)
            {
                return _segments.Count > 1 ? _segments[0].LastSeq : null;
            }
        }
    }

    /// <summary>The folder of the log that belongs to the database at <paramref name="databasePath"/>.</summary>
    public static string DirectoryFor(string databasePath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(databasePath))!, DirectoryName);

    /// <summary>Opens (creating the folder if absent) and checks every segment; cuts a torn tail.</summary>
    /// <param name="directory">The folder of the segments.</param>
    /// <param name="options">How the log writes; its <see cref="JournalLogOptions.Durability"/> also decides what a damaged tail is.</param>
    /// <param name="appliedSeq">
    /// The last seq already applied from this log elsewhere: DuckDB's <c>max(seq)</c> (0 when nothing is known, for
    /// example a log without a database). By design, with <see cref="DurabilityMode.Fsync"/> a damaged tail is cut as
    /// torn only when the cut keeps every seq up to <paramref name="appliedSeq"/>: DuckDB is given an event only after
    /// the group holding it was fdatasynced, so a damaged tail that ends the log before <paramref name="appliedSeq"/>
    /// destroyed durable, acknowledged records: it is damage, reported like a bad record in the middle of the log. With
    /// <see cref="DurabilityMode.Os"/> the log may legitimately trail DuckDB, so the tail is cut as before.
    /// </param>
    /// <exception cref="JournalLogCorruptException">Damage a crash cannot explain; nothing was changed.</exception>
    public static JournalLog Open(string directory, JournalLogOptions options, long appliedSeq = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var full = Path.GetFullPath(directory);
        var created = !System.IO.Directory.Exists(full);
        if (created)
        {
            RequireNoUnfinishedRebuild(full);
            PrivateDirectory.Create(full);
            NativeSync.SyncDirectory(Path.GetDirectoryName(full)!);
        }

        var files = SegmentFilesIn(full);
        var segments = new List<Segment>(files.Count);
        TornTail? torn = null;
        for (var i = 0; i < files.Count; i++)
        {
            var isLast = i == files.Count - 1;
            var segment = Scan(files[i].Path, files[i].FirstSeq, isLast, options.Durability == DurabilityMode.Fsync ? appliedSeq : 0,
                segments.Count > 0 && segments[^1].Sealed, out torn);
            RequireFollows(segments, segment);
            segments.Add(segment);
        }

        return new JournalLog(full, options, segments, torn, created);
    }

    /// <summary>
    /// Reads and checks every segment exactly as <see cref="Open"/> does (header, every record's checksum, seq continuity
    /// within and between segments, and which damage is a torn tail) but changes nothing: it creates no folder, cuts no
    /// torn tail, preserves no bytes and rewrites no header; what <see cref="Open"/> would do is reported instead
    /// (<c>tradestore verify</c>). Files are only opened for reading.
    /// </summary>
    /// <param name="directory">The folder of the segments.</param>
    /// <param name="durability">As <see cref="JournalLogOptions.Durability"/>: with <see cref="DurabilityMode.Fsync"/> a damaged tail that would drop seqs up to <paramref name="appliedSeq"/> is damage.</param>
    /// <param name="appliedSeq">DuckDB's <c>max(seq)</c>, as for <see cref="Open"/>.</param>
    /// <param name="cancellationToken">Checked before each segment (an offline tool stopped with Ctrl-C; a segment is at most <see cref="JournalLogOptions.SegmentBytes"/>).</param>
    /// <exception cref="JournalLogCorruptException">What <see cref="Open"/> would throw: the same file, offset and reason.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static JournalLogCheck Check(string directory, DurabilityMode durability, long appliedSeq = 0, CancellationToken cancellationToken = default)
    {
        var full = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(full))
        {
            RequireNoUnfinishedRebuild(full);
            return new JournalLogCheck(full, exists: false, [], null, null, _ => []);
        }

        var files = SegmentFilesIn(full);
        var segments = new List<Segment>(files.Count);
        TornTailFound? torn = null;
        string? headerToWrite = null;
        for (var i = 0; i < files.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var isLast = i == files.Count - 1;
            var scanned = Examine(files[i].Path, files[i].FirstSeq, isLast, durability == DurabilityMode.Fsync ? appliedSeq : 0,
                segments.Count > 0 && segments[^1].Sealed, cancellationToken);
            if (scanned.HeaderMissing)
            {
                headerToWrite = files[i].Path;
            }

            if (scanned.Torn is { } cut)
            {
                torn = new TornTailFound(files[i].Path, cut.Start, cut.End - cut.Start);
            }

            RequireFollows(segments, scanned.Segment);
            segments.Add(scanned.Segment);
        }

        Segment[] snapshot = [.. segments];
        var last = segments.Count == 0 ? 0 : segments[^1].LastSeq;
        return new JournalLogCheck(full, exists: true,
            [.. segments.Select(s => new JournalLogSegmentInfo(s.Path, s.FirstSeq, s.LastSeq, s.Length, s.FileSize))],
            torn, headerToWrite, from => Read(snapshot, Math.Max(from, 1), last));
    }

    /// <summary>Starts an empty log at <paramref name="nextSeq"/> (the seq after the last one DuckDB holds).</summary>
    public void Begin(long nextSeq)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(nextSeq);
        lock (_gate)
        {
            if (_segments.Count > 0)
            {
                throw new InvalidOperationException("The journal log already holds segments.");
            }

            // Start-up, not an acknowledgement: a small zeroed room is written here, the full-size next segment in the background.
            _written = true;
            StartSegment(nextSeq, Math.Min(_options.SegmentBytes, InitialZeroBytes));
            Interlocked.Exchange(ref _lastSeq, nextSeq - 1);
        }
    }

    /// <summary>
    /// Appends <paramref name="records"/> (contiguous, starting at <see cref="NextSeq"/>, each intact) with one write,
    /// then makes them durable as <see cref="JournalLogOptions.Durability"/> says. On failure the segment is cut back to
    /// where it was, so a failed append leaves nothing; if even that fails the log refuses every further append.
    /// </summary>
    /// <param name="records">The records to append.</param>
    /// <param name="written">
    /// Called under the log's lock once the records are in the file and before its sync: a leader ships them to its
    /// followers there, so their fsyncs run alongside this one (issue #14). The records are not durable yet when it is
    /// called. Once it was called, a failure of the sync or of the callback itself cannot be undone (others may hold the
    /// records), so the log then refuses every further append.
    /// </param>
    /// <exception cref="IOException">The write or the sync failed; nothing of the records is in the log.</exception>
    /// <exception cref="JournalAppendUndecidedException">The write or the sync failed after <paramref name="written"/> was
    /// called, or cutting the records back failed: they may be in the log, and it is broken (<see cref="IsBroken"/>).</exception>
    public void Append(IReadOnlyList<LogRecord> records, Action<IReadOnlyList<LogRecord>>? written = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return;
        }

        lock (_gate)
        {
            if (_broken)
            {
                throw new InvalidOperationException("The journal log could not undo a failed append and accepts no more; restart the process.");
            }

            _written = true;
            if (_segments.Count == 0)
            {
                StartSegment(records[0].Seq);
            }

            var segment = _segments[^1];
            if (segment.Length >= _options.SegmentBytes)
            {
                // The append that filled it could not roll it over (RollAfter): roll first, and while that still fails this
                // append is refused with nothing written.
                StartSegment(segment.LastSeq + 1, sealing: segment);
                segment = _segments[^1];
            }

            var size = 0;
            for (var i = 0; i < records.Count; i++)
            {
                var record = records[i];
                if (record.Seq != segment.LastSeq + 1 + i)
                {
                    throw new ArgumentException($"record seq {record.Seq} does not follow seq {segment.LastSeq + i} of the journal log", nameof(records));
                }

                if (!record.IsIntact)
                {
                    throw new ArgumentException($"record seq {record.Seq} does not match its checksum", nameof(records));
                }

                size += LogRecordFormat.FramedSize(record.Payload.Length);
            }

            var buffer = ArrayPool<byte>.Shared.Rent(size);
            try
            {
                var offset = 0;
                foreach (var record in records)
                {
                    offset += LogRecordFormat.Write(record, buffer.AsSpan(offset));
                }

                WriteDurably(segment, buffer.AsSpan(0, size), records, written);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            var position = segment.Length;
            foreach (var record in records)
            {
                if ((record.Seq - segment.FirstSeq) % SparseEvery == 0)
                {
                    segment.Sparse.Add((record.Seq, position));
                }

                position += LogRecordFormat.FramedSize(record.Payload.Length);
            }

            foreach (var record in records)
            {
                AddRun(record.Term, record.Seq);
            }

            segment.Length += size;
            segment.FileSize = Math.Max(segment.FileSize, segment.Length);
            segment.LastSeq = records[^1].Seq;
            segment.LastTerm = records[^1].Term;
            Interlocked.Exchange(ref _lastTerm, records[^1].Term);
            Interlocked.Exchange(ref _lastSeq, segment.LastSeq);
            if (segment.Length >= _options.SegmentBytes)
            {
                RollAfter(segment);
            }
            else if (segment.FileSize < _options.SegmentBytes)
            {
                // Not a full-size zeroed file (created when none was prepared, or reopened after a clean stop cut its zero
                // tail): give it one, same name and records, rather than seal it early.
                Reseat(segment);
            }
            else
            {
                _preparer.RequestZeroed();
            }
        }
    }

    /// <summary>
    /// The records from <paramref name="seq"/> to the <see cref="LastSeq"/> of the moment of the call, in order.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="seq"/> is older than <see cref="FirstSeq"/> (recycled).</exception>
    public IEnumerable<LogRecord> ReadFrom(long seq)
    {
        Segment[] segments;
        long last;
        lock (_gate)
        {
            segments = [.. _segments.Select(s => s.Snapshot())];
            last = LastSeq;
            if (segments.Length > 0 && seq < segments[0].FirstSeq)
            {
                throw new ArgumentOutOfRangeException(nameof(seq), seq, $"the journal log starts at seq {segments[0].FirstSeq}; older records were recycled behind a DuckDB checkpoint");
            }
        }

        return Read(segments, Math.Max(seq, 1), last);
    }

    /// <summary>
    /// Deletes the sealed segments whose every record is at or below <paramref name="checkpointedSeq"/> (a seq a
    /// DuckDB checkpoint holds), oldest first; never the segment being written. Returns how many were deleted.
    /// </summary>
    public int RecycleThrough(long checkpointedSeq)
    {
        lock (_gate)
        {
            var deleted = 0;
            while (_segments.Count > 1 && _segments[0].LastSeq <= checkpointedSeq)
            {
                File.Delete(_segments[0].Path);
                _segments.RemoveAt(0);
                deleted++;
            }

            if (deleted > 0)
            {
                NativeSync.SyncDirectory(Directory);
            }

            return deleted;
        }
    }

    /// <summary>
    /// Cuts every record after <paramref name="seq"/> from the end of the log (issue #14: a node that rejoins as follower
    /// drops the tail the new leader never had): segments that start after it are deleted, the segment holding it is cut
    /// back to the end of record <paramref name="seq"/> and synced. Returns how many records were removed (0 when the log
    /// ends at or before <paramref name="seq"/>). The record format and every remaining byte are unchanged.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="seq"/> lies before the oldest record the log holds (recycled).</exception>
    public long TruncateAfter(long seq)
    {
        lock (_gate)
        {
            if (_broken)
            {
                throw new InvalidOperationException("The journal log could not undo a failed append and accepts no more changes; restart the process.");
            }

            if (_segments.Count == 0 || seq >= _segments[^1].LastSeq)
            {
                return 0;
            }

            if (seq < _segments[0].FirstSeq - 1)
            {
                throw new ArgumentOutOfRangeException(nameof(seq), seq, $"the journal log starts at seq {_segments[0].FirstSeq}; it cannot be cut back before that");
            }

            var removed = _segments[^1].LastSeq - seq;
            var staying = _segments.FindLastIndex(s => s.FirstSeq <= seq);
            if (_segments[Math.Max(staying, 0)] is { Sealed: true } becomesLast)
            {
                Unseal(becomesLast);
            }

            var deletedFiles = false;
            while (_segments.Count > 1 && _segments[^1].FirstSeq > seq)
            {
                _active?.Dispose();
                _active = null;
                File.Delete(_segments[^1].Path);
                _segments.RemoveAt(_segments.Count - 1);
                deletedFiles = true;
            }

            var segment = _segments[^1];
            _active ??= OpenForAppend(segment.Path);
            if (segment.LastSeq > seq)
            {
                _written = true;
                _preparer.Discard();
                var (offset, term) = EndOf(segment, seq);
                if (segment.FileSize > segment.Length)
                {
                    // A pre-zeroed segment keeps its size: the cut records become zeros, the end of the log again.
                    WriteZeros(_active, offset, segment.Length - offset);
                }
                else
                {
                    RandomAccess.SetLength(_active, offset);
                    segment.FileSize = offset;
                }

                NativeSync.DataSync(_active);
                segment.Length = offset;
                segment.LastSeq = seq;
                segment.LastTerm = term;
                segment.Sparse.RemoveAll(entry => entry.Seq > seq);
            }

            if (deletedFiles)
            {
                NativeSync.SyncDirectory(Directory);
            }

            _termRuns.RemoveAll(run => run.FirstSeq > seq);
            Interlocked.Exchange(ref _lastSeq, segment.LastSeq);
            Interlocked.Exchange(ref _lastTerm, segment.LastSeq >= segment.FirstSeq ? segment.LastTerm : _segments.Count > 1 ? _segments[^2].LastTerm : 0);
            return removed;
        }
    }

    /// <summary>
    /// The log is in service (the engine started on it): from now on a clean close cuts the zero tail, whether or not
    /// anything is written, as after writing. Until then a close leaves the files as they were found.
    /// </summary>
    public void MarkInService()
    {
        lock (_gate)
        {
            _inService = true;
        }
    }

    /// <summary>
    /// Closes the log. Once in service (<see cref="MarkInService"/>) or after writing, a clean close cuts the zero tail of
    /// the segment being written, so every segment file at rest is exactly its records; the next start gives it a zero
    /// tail again in the background. A log that was only opened and read (a start stopped by exit 5) is left exactly as it was.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _preparer.Dispose();
            if ((_written || _inService) && _active is not null && !_broken && _segments.Count > 0 && _segments[^1] is { } segment && segment.FileSize > segment.Length)
            {
                try
                {
                    RandomAccess.SetLength(_active, segment.Length);
                    NativeSync.DataSync(_active);
                    segment.FileSize = segment.Length;
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // The zero tail stays; the next open reads it as the end of the log.
                }
            }

            _active?.Dispose();
            _active = null;
        }
    }

    /// <summary>Waits until the background has finished what it was asked for (tests): true when a zeroed file or a copy is ready.</summary>
    internal bool WaitForPreparedSegment(TimeSpan timeout) => _preparer.WaitSettled(timeout);

    /// <summary>
    /// Times a segment could not be prepared ahead (zeroed before it is needed, or the segment written moved into a zeroed
    /// file), since the log was opened. The log then writes into a file that grows, as before segments were prepared: nothing
    /// is lost, each fsync costs more. The last cause is <see cref="LastSegmentPreparationError"/> (for example too little
    /// free space: twice the segment size must be free).
    /// </summary>
    public long SegmentPreparationFailures => _preparer.FailureCount;

    /// <summary>Why the last preparation failed; <see langword="null"/> when none has.</summary>
    public Exception? LastSegmentPreparationError => _preparer.LastError;

    /// <summary>The segment files in <paramref name="directory"/>, oldest first (other files are not the log's).</summary>
    private static List<(string Path, long FirstSeq)> SegmentFilesIn(string directory) =>
        System.IO.Directory.GetFiles(directory, "*" + SegmentExtension)
            .Select(path => (Path: path, FirstSeq: ParseName(path)))
            .Where(f => f.FirstSeq > 0)
            .OrderBy(f => f.FirstSeq)
            .ToList();

    /// <summary>
    /// By design a missing folder with a <see cref="RebuiltSuffix"/> folder beside it is not a new log: <c>recover --from
    /// duckdb</c> moves the damaged log aside and then the new one into its place, and a kill or a power cut between the two
    /// leaves exactly this. Begun afresh after DuckDB's end (as it was until 2026-12-04), the log would have left out the
    /// acknowledged events the new one holds past DuckDB's end, and handed their seqs to new writes.
    /// </summary>
    private static void RequireNoUnfinishedRebuild(string directory)
    {
        if (UnfinishedRebuild(directory) is { } unfinished)
        {
            throw unfinished;
        }
    }

    /// <summary>What a start says of a missing <paramref name="directory"/> with a <see cref="RebuiltSuffix"/> folder beside it; <see langword="null"/> without one.</summary>
    internal static JournalLogCorruptException? UnfinishedRebuild(string directory)
    {
        var rebuilt = directory + RebuiltSuffix;
        return System.IO.Directory.Exists(rebuilt)
            ? new JournalLogCorruptException(rebuilt, 0,
                $"{directory} is missing and {rebuilt} holds the journal log 'tradestore recover --from duckdb' wrote: it was stopped after " +
                "moving the damaged log aside and before moving this one into its place. Run 'tradestore recover --from duckdb' again: it " +
                "checks this log and moves it into place")
            : null;
    }

    /// <summary>A segment must start right after the one before it.</summary>
    private static void RequireFollows(List<Segment> segments, Segment segment)
    {
        if (segments.Count > 0 && segment.FirstSeq != segments[^1].LastSeq + 1)
        {
            throw new JournalLogCorruptException(segment.Path, 0,
                $"records {segments[^1].LastSeq + 1}..{segment.FirstSeq - 1} are missing: {Path.GetFileName(segments[^1].Path)} ends at seq {segments[^1].LastSeq}" +
                UnreadFilesNote(Path.GetDirectoryName(segment.Path)!));
        }
    }

    /// <summary>
    /// When <paramref name="directory"/> holds files ending in <see cref="SegmentExtension"/> whose names are not a first seq
    /// (20 digits), which no start reads: a note naming them for a message about missing segments, else "". A segment
    /// renamed by hand or by a copy tool (<c>3593.log</c>, <c>00000000000000003593 (1).log</c>) is otherwise reported missing
    /// while it sits in the folder.
    /// </summary>
    internal static string UnreadFilesNote(string directory)
    {
        string[] unread;
        try
        {
            unread = [.. System.IO.Directory.GetFiles(directory, "*" + SegmentExtension).Where(f => ParseName(f) == 0).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }

        return unread.Length == 0
            ? ""
            : $". {directory} also holds {string.Join(", ", unread.Take(5))}{(unread.Length > 5 ? $" and {unread.Length - 5} more" : "")}, not named as a segment " +
              "(the first seq it holds, 20 digits, .log), which no start reads: if one is a missing segment, rename it after the first seq its header names";
    }

    private static long ParseName(string path)
    {
        var name = Path.GetFileNameWithoutExtension(path);
        return name.Length == 20 && long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? seq : 0;
    }

    private static string SegmentName(long firstSeq) => firstSeq.ToString("D20", CultureInfo.InvariantCulture) + SegmentExtension;

    private static SafeFileHandle OpenForAppend(string path) =>
        File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);

    /// <summary>The first seq an intact segment header names (its magic, version and checksum hold), or <see langword="null"/>.</summary>
    private static long? HeaderNamedSeq(byte[] bytes)
    {
        if (bytes.Length < SegmentHeaderSize)
        {
            return null;
        }

        var named = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(16));
        return named > 0 && bytes.AsSpan(0, SegmentHeaderSize).SequenceEqual(Header(named)) ? named : null;
    }

    private static byte[] Header(long firstSeq)
    {
        var header = new byte[SegmentHeaderSize];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), FormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), firstSeq);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(28), Crc32C.Append(0, header.AsSpan(0, 28)));
        return header;
    }

    /// <summary>Reads and checks a segment (<see cref="Examine"/>), then does what its end needs: a header rewritten, a torn tail cut.</summary>
    /// <param name="path">The segment file.</param>
    /// <param name="firstSeq">The seq its name gives.</param>
    /// <param name="isLast">Whether it is the segment being written (only its tail may be torn).</param>
    /// <param name="durableThrough">A seq known durable in the log (DuckDB holds it, fsync durability), or 0: a damaged tail whose cut would drop it is damage.</param>
    /// <param name="afterSeal">Whether the segment before it is sealed (see <see cref="Examine"/>).</param>
    /// <param name="torn">What was cut, if anything.</param>
    private static Segment Scan(string path, long firstSeq, bool isLast, long durableThrough, bool afterSeal, out TornTail? torn)
    {
        torn = null;
        var scanned = Examine(path, firstSeq, isLast, durableThrough, afterSeal);
        if (scanned.HeaderMissing)
        {
            // A crash while the segment was being created: rewrite its header.
            File.WriteAllBytes(path, Header(firstSeq));
            using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
            {
                NativeSync.DataSync(handle);
            }

            return scanned.Segment;
        }

        if (scanned.Torn is not { } cut)
        {
            return scanned.Segment;
        }

        var (bytes, segment) = (scanned.Bytes, scanned.Segment);
        var (start, end) = cut;
        var preserved = $"{path}.torn-{start}-{DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture)}";
        // The copy is on the disk, under its name, before the segment is cut: a power cut in between loses neither.
        using (var copy = File.OpenHandle(preserved, FileMode.Create, FileAccess.Write))
        {
            RandomAccess.Write(copy, bytes.AsSpan(start, end - start), 0);
            NativeSync.DataSync(copy);
        }

        NativeSync.SyncDirectory(Path.GetDirectoryName(path)!);
        using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
        {
            if (end == bytes.Length)
            {
                RandomAccess.SetLength(handle, start);
                segment.FileSize = start;
            }
            else
            {
                // The zeros after it stay: the segment keeps its size and the writer keeps overwriting.
                WriteZeros(handle, start, end - start);
            }

            NativeSync.DataSync(handle);
        }

        NativeSync.SyncDirectory(Path.GetDirectoryName(path)!);
        torn = new TornTail(path, start, end - start, preserved);
        return segment;
    }

    /// <summary>
    /// Reads a segment and checks it, changing nothing: its header, every record's checksum and seq, and what follows the
    /// last whole record. Damage a crash cannot explain throws; what a crash leaves is returned for the caller to act on
    /// (<see cref="Open"/>) or report (<see cref="Check"/>).
    /// </summary>
    /// <param name="path">The segment file.</param>
    /// <param name="firstSeq">The seq its name gives.</param>
    /// <param name="isLast">Whether it is the segment being written (only its tail may be torn).</param>
    /// <param name="durableThrough">A seq known durable in the log (DuckDB holds it, fsync durability), or 0: a damaged tail whose cut would drop it is damage.</param>
    /// <param name="afterSeal">
    /// Whether the segment before it is sealed. A roll syncs the new segment's header (and its folder) before it seals the
    /// old one, so a sealed predecessor vouches that this segment's header was on the disk: found empty, it lost it.
    /// </param>
    /// <param name="cancellationToken">Checked while the file is read and between its records.</param>
    private static ScannedSegment Examine(string path, long firstSeq, bool isLast, long durableThrough, bool afterSeal, CancellationToken cancellationToken = default)
    {
        var bytes = ReadSegmentFile(path, cancellationToken);
        if (bytes.Length < SegmentHeaderSize && isLast && bytes.AsSpan().IndexOfAnyExcept((byte)0) < 0)
        {
            // By design not a crash's leftover when something vouches for what it held: the file was cut or lost its data
            // (a zero-length file is what delayed allocation leaves of data that never reached the disk).
            if (afterSeal)
            {
                throw new JournalLogCorruptException(path, 0,
                    $"the segment holds {bytes.Length} bytes, all zeros, but the segment before it was sealed when the log rolled over to it, " +
                    "which happens only once its header is on the disk: the file was cut or lost its data, and with it every acknowledged event " +
                    $"from seq {firstSeq} on");
            }

            if (durableThrough >= firstSeq)
            {
                throw new JournalLogCorruptException(path, 0,
                    $"the segment holds {bytes.Length} bytes, all zeros, but DuckDB holds events up to seq {durableThrough}: with " +
                    "Storage:Durability=fsync DuckDB applies only records already durable in the log, so the file held acknowledged events " +
                    $"{firstSeq}..{durableThrough} (at least) and lost them; it is not a segment a crash interrupted while creating it. If the run " +
                    "that crashed used Storage:Durability=os, the log may trail DuckDB: starting once with Storage:Durability=os accepts it and copies " +
                    "the missing events from DuckDB");
            }

            // A crash while the segment was being created: its header is to be rewritten.
            return new ScannedSegment(new Segment(path, firstSeq) { Length = SegmentHeaderSize, FileSize = SegmentHeaderSize, LastSeq = firstSeq - 1 },
                bytes, HeaderMissing: true, Torn: null);
        }

        if (bytes.Length < SegmentHeaderSize || !bytes.AsSpan(0, SegmentHeaderSize).SequenceEqual(Header(firstSeq)))
        {
            throw new JournalLogCorruptException(path, 0, HeaderNamedSeq(bytes) is { } named
                ? $"the segment header is intact but names first seq {named}, not the {firstSeq} of the file's name: the file was renamed or copied " +
                  $"under another name; a segment starting at seq {named} is named {SegmentName(named)}"
                : $"the segment header is damaged or does not name first seq {firstSeq}");
        }

        var segment = new Segment(path, firstSeq) { LastSeq = firstSeq - 1 };
        var offset = SegmentHeaderSize;
        while (offset < bytes.Length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var record = LogRecordFormat.TryRead(bytes.AsSpan(offset), out var size);
            if (record is null || record.Seq != segment.LastSeq + 1)
            {
                break;
            }

            if ((record.Seq - firstSeq) % SparseEvery == 0)
            {
                segment.Sparse.Add((record.Seq, offset));
            }

            if (segment.Runs.Count == 0 || segment.Runs[^1].Term != record.Term)
            {
                segment.Runs.Add(new TermRun(record.Term, record.Seq));
            }

            segment.LastSeq = record.Seq;
            segment.LastTerm = record.Term;
            offset += size;
        }

        segment.Length = offset;
        segment.FileSize = bytes.Length;
        var after = bytes.AsSpan(offset);
        var zerosAfterSeal = after.Length <= SegmentSeal.Size || after[SegmentSeal.Size..].IndexOfAnyExcept((byte)0) < 0;
        if (zerosAfterSeal && SegmentSeal.IsSealFor(after, segment.LastSeq + 1))
        {
            if (isLast)
            {
                throw new JournalLogCorruptException(path, offset,
                    $"the segment was sealed when the log rolled over: its records end at seq {segment.LastSeq} and the log went on in " +
                    $"{SegmentName(segment.LastSeq + 1)}, which is missing. The newest segments were removed or lost, and with them " +
                    $"every acknowledged event from seq {segment.LastSeq + 1} on" + UnreadFilesNote(Path.GetDirectoryName(path)!));
            }

            segment.Sealed = true;
            return new ScannedSegment(segment, bytes, HeaderMissing: false, Torn: null);
        }

        var damage = after.IndexOfAnyExcept((byte)0);
        if (damage < 0)
        {
            // Nothing, or only zeros, after the last whole record: the end of the log (a pre-zeroed segment's unused room).
            return new ScannedSegment(segment, bytes, HeaderMissing: false, Torn: null);
        }

        if (!isLast && damage < SegmentSeal.Size && zerosAfterSeal)
        {
            // A seal half written when the machine stopped: its successor is created before it, and it is here.
            segment.Sealed = true;
            return new ScannedSegment(segment, bytes, HeaderMissing: false, Torn: null);
        }

        if (!isLast)
        {
            throw new JournalLogCorruptException(path, offset, $"the record after seq {segment.LastSeq} is damaged, in a sealed segment (not the end of the log)");
        }

        if (IntactRecordAfter(bytes, offset, segment.LastSeq + 1) is { } later)
        {
            var what = damage >= later.Offset - offset ? "is missing (zero bytes)" : "is damaged";
            throw new JournalLogCorruptException(path, offset,
                $"the record after seq {segment.LastSeq} {what} and intact records follow it (seq {later.Seq} at offset {later.Offset}): this is not a torn tail");
        }

        if (durableThrough > segment.LastSeq)
        {
            // Not torn: the records after the last intact one were fdatasynced before DuckDB was given them (exit 5, nothing cut).
            throw new JournalLogCorruptException(path, offset,
                $"the record after seq {segment.LastSeq} is damaged and nothing intact follows it, but DuckDB holds events up to seq {durableThrough}: " +
                "with Storage:Durability=fsync DuckDB applies only records already durable in the log, so the damaged bytes held acknowledged " +
                $"events {segment.LastSeq + 1}..{durableThrough} (at least) and this is not a torn tail. If the run that crashed used " +
                "Storage:Durability=os, the log may trail DuckDB: starting once with Storage:Durability=os cuts the tail and copies the missing events from DuckDB");
        }

        // A torn tail: what a crash left of an append that was never acknowledged. In a pre-zeroed segment it lies over the
        // zeros, which may follow it; the cut runs from its first written byte to the end of the page of its last one.
        var start = offset + (damage & ~7);
        var lastWritten = offset + bytes.AsSpan(offset).LastIndexOfAnyExcept((byte)0);
        var end = (int)Math.Min(bytes.Length, ((long)lastWritten + TornPage) & ~(TornPage - 1L));
        return new ScannedSegment(segment, bytes, HeaderMissing: false, Torn: (start, end));
    }

    /// <summary>
    /// The whole segment file, read 16 MiB at a time with <paramref name="cancellationToken"/> checked between reads: a
    /// segment may be <see cref="JournalLogOptions.SegmentBytes"/> = 1 GiB, seconds of reading for an offline tool stopped
    /// with Ctrl-C. A start-up reads the same way with <see cref="CancellationToken.None"/>, which never fires: no slower
    /// than one <see cref="File.ReadAllBytes(string)"/> (the same bytes through the same page cache, 16 reads per 256 MiB).
    /// </summary>
    private static byte[] ReadSegmentFile(string path, CancellationToken cancellationToken)
    {
        const int Chunk = 16 << 20;
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        var bytes = new byte[checked((int)file.Length)];
        var read = 0;
        while (read < bytes.Length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var n = file.Read(bytes, read, Math.Min(Chunk, bytes.Length - read));
            if (n == 0)
            {
                return bytes[..read]; // cut meanwhile: what a single read would have found
            }

            read += n;
        }

        return bytes;
    }

    /// <summary>The first intact record past <paramref name="offset"/> with a seq at or after <paramref name="expected"/>, if any.</summary>
    private static (long Seq, long Offset)? IntactRecordAfter(byte[] bytes, int offset, long expected)
    {
        // Records are 8-byte aligned; a cheap look at the length and seq fields skips almost every position.
        for (var at = offset + 8; at + LogRecordFormat.HeaderSize <= bytes.Length; at += 8)
        {
            var span = bytes.AsSpan(at);
            var length = BinaryPrimitives.ReadInt32LittleEndian(span);
            var seq = BinaryPrimitives.ReadInt64LittleEndian(span[8..]);
            if (length < 0 || length > LogRecordFormat.MaxPayload || seq < expected || seq > expected + (bytes.Length / LogRecordFormat.HeaderSize) + 1)
            {
                continue;
            }

            if (LogRecordFormat.TryRead(span, out _) is { } record)
            {
                return (record.Seq, at);
            }
        }

        return null;
    }

    private static IEnumerable<LogRecord> Read(Segment[] segments, long from, long last)
    {
        foreach (var segment in segments)
        {
            if (segment.LastSeq < from || segment.FirstSeq > last)
            {
                continue;
            }

            var start = SegmentHeaderSize;
            foreach (var (seq, offset) in segment.Sparse)
            {
                if (seq > from)
                {
                    break;
                }

                start = (int)offset;
            }

            foreach (var record in ReadSegment(segment.Path, start, segment.Length))
            {
                if (record.Seq > last)
                {
                    yield break;
                }

                if (record.Seq >= from)
                {
                    yield return record;
                }
            }
        }
    }

    private static IEnumerable<LogRecord> ReadSegment(string path, long start, long end)
    {
        using var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            Share = FileShare.ReadWrite | FileShare.Delete,
            BufferSize = 0,
        });
        stream.Position = start;
        var buffer = new byte[1 << 20];
        var filled = 0;
        var consumed = 0;
        var position = start;
        while (position < end)
        {
            var available = filled - consumed;
            var record = LogRecordFormat.TryRead(buffer.AsSpan(consumed, available), out var size);
            if (record is not null)
            {
                consumed += size;
                position += size;
                yield return record;
                continue;
            }

            var needed = available >= LogRecordFormat.HeaderSize
                ? LogRecordFormat.FramedSize(BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(consumed)))
                : LogRecordFormat.HeaderSize;
            if (available >= needed || needed > LogRecordFormat.FramedSize(LogRecordFormat.MaxPayload))
            {
                throw new JournalLogCorruptException(path, position, "a record checked at start-up no longer reads back intact");
            }

            if (consumed > 0)
            {
                buffer.AsSpan(consumed, available).CopyTo(buffer);
                filled = available;
                consumed = 0;
            }

            if (needed > buffer.Length)
            {
                Array.Resize(ref buffer, needed);
            }

            var read = stream.Read(buffer, filled, (int)Math.Min(buffer.Length - filled, end - position - available));
            if (read == 0)
            {
                throw new JournalLogCorruptException(path, position, "the segment ended before its last checked record");
            }

            filled += read;
        }
    }

    /// <summary>The byte offset just past record <paramref name="seq"/> of <paramref name="segment"/> (its header's end before the first), and that record's term.</summary>
    private static (long Offset, long Term) EndOf(Segment segment, long seq)
    {
        if (seq < segment.FirstSeq)
        {
            return (SegmentHeaderSize, 0);
        }

        long start = SegmentHeaderSize;
        foreach (var (sparseSeq, offset) in segment.Sparse)
        {
            if (sparseSeq > seq)
            {
                break;
            }

            start = offset;
        }

        var position = start;
        foreach (var record in ReadSegment(segment.Path, start, segment.Length))
        {
            position += LogRecordFormat.FramedSize(record.Payload.Length);
            if (record.Seq == seq)
            {
                return (position, record.Term);
            }
        }

        throw new JournalLogCorruptException(segment.Path, position, $"record seq {seq} was not found where the segment index places it");
    }

    private void AddRun(long term, long seq)
    {
        if (_termRuns.Count == 0 || _termRuns[^1].Term != term)
        {
            _termRuns.Add(new TermRun(term, seq));
        }
    }

    /// <summary>
    /// Makes <paramref name="firstSeq"/>'s segment the one written: the prepared zeroed file when one is ready (its header
    /// written and synced, then renamed into place), else a new file holding the header and <paramref name="zeroBytes"/>
    /// of zeros, as every roll did before segments were prepared. At a roll, <paramref name="sealing"/> (the segment
    /// written until now) is then sealed.
    /// </summary>
    private void StartSegment(long firstSeq, long zeroBytes = 0, Segment? sealing = null)
    {
        var path = Path.Combine(Directory, SegmentName(firstSeq));
        _preparer.Retry();
        var (handle, fileSize) = AdoptPrepared(path, firstSeq) ?? CreateSegmentFile(path, firstSeq, zeroBytes);
        var previous = _active;
        _active = handle;
        if (sealing is not null && previous is not null)
        {
            Seal(previous, sealing);
        }

        previous?.Dispose();
        _segments.Add(new Segment(path, firstSeq) { Length = SegmentHeaderSize, FileSize = fileSize, LastSeq = firstSeq - 1 });
        if (fileSize < _options.SegmentBytes)
        {
            _preparer.RequestReseat(path, SegmentHeaderSize);
        }
        else
        {
            _preparer.RequestZeroed();
        }
    }

    /// <summary>
    /// Starts the successor of <paramref name="segment"/>, which the append just made durable filled. By design a failure
    /// (no room for the new file, say) is not thrown: this append's records are durable, so it succeeded, and a throw made
    /// the writer refuse them as "nothing of it was kept" while the next start replayed them (applied, after a 500
    /// storage-failure). The segment stays the one written, unsealed; the next append tries the roll first.
    /// </summary>
    private void RollAfter(Segment segment)
    {
        try
        {
            StartSegment(segment.LastSeq + 1, sealing: segment);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LastRollError = ex;
        }
    }

    /// <summary>Why the last roll to a new segment after a durable append failed (it is tried again before the next append); for tests and diagnostics.</summary>
    internal Exception? LastRollError { get; private set; }

    /// <summary>
    /// Writes <paramref name="segment"/>'s seal after its last record and syncs it. Only once its successor is on the disk
    /// (created, synced, its folder synced): a sealed segment without a successor is exit 5 at the next start.
    /// </summary>
    /// <remarks>
    /// By design a seal that cannot be written is left out: the records are durable and the successor exists, and a missing
    /// seal only means that this segment cannot tell, later, that the ones after it were lost (as before seals existed).
    /// One write and one fdatasync per segment (64 MiB by default), paid by the append that rolls.
    /// </remarks>
    private static void Seal(SafeFileHandle handle, Segment segment)
    {
        try
        {
            RandomAccess.Write(handle, SegmentSeal.Create(segment.LastSeq + 1), segment.Length);
            NativeSync.DataSync(handle);
            segment.Sealed = true;
            segment.FileSize = Math.Max(segment.FileSize, segment.Length + SegmentSeal.Size);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Half written at worst: a start reads a partial seal of a segment with a successor as a seal.
            segment.Sealed = true;
        }
    }

    /// <summary>
    /// Makes the seal of <paramref name="segment"/> zeros again and syncs it, before its successors are deleted: a crash
    /// in between leaves an unsealed segment with successors, never a sealed one without.
    /// </summary>
    private static void Unseal(Segment segment)
    {
        using var handle = OpenForAppend(segment.Path);
        var seal = (int)Math.Min(SegmentSeal.Size, RandomAccess.GetLength(handle) - segment.Length);
        if (seal > 0)
        {
            WriteZeros(handle, segment.Length, seal);
            NativeSync.DataSync(handle);
        }

        segment.Sealed = false;
    }

    /// <summary>
    /// Puts the segment being written into a zeroed file of the full size once the background has copied its start into
    /// one: the records appended since are copied too, the copy synced and renamed over the segment. Until then (and if
    /// anything fails) the segment is written as it is.
    /// </summary>
    private void Reseat(Segment segment)
    {
        if (_preparer.TakeReseat(segment.Path) is not { } reseat)
        {
            _preparer.RequestReseat(segment.Path, segment.Length);
            return;
        }

        SafeFileHandle? handle = null;
        try
        {
            handle = File.OpenHandle(reseat.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
            SegmentPreparer.CopyRange(_active!, handle, reseat.Copied, segment.Length);
            NativeSync.DataSync(handle);
            var size = RandomAccess.GetLength(handle);
            File.Move(reseat.Path, segment.Path, overwrite: true);
            segment.FileSize = Math.Max(size, segment.Length);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The segment is as it was; nothing more is prepared until the next roll.
            handle?.Dispose();
            _preparer.MarkFailed(ex);
            return;
        }

        _active!.Dispose();
        _active = handle;
        try
        {
            NativeSync.SyncDirectory(Directory);
        }
        catch (IOException ex)
        {
            // Either file is the segment after a crash (the copy was synced before the rename): nothing to undo.
            _preparer.MarkFailed(ex);
            return;
        }

        _preparer.RequestZeroed();
    }

    /// <summary>The prepared file renamed to <paramref name="path"/> with its header, or <see langword="null"/> when none is ready or it cannot be used.</summary>
    private (SafeFileHandle Handle, long FileSize)? AdoptPrepared(string path, long firstSeq)
    {
        if (_preparer.TakeZeroed() is not { } prepared)
        {
            return null;
        }

        SafeFileHandle? handle = null;
        long size;
        try
        {
            handle = File.OpenHandle(prepared, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
            RandomAccess.Write(handle, Header(firstSeq), 0);
            NativeSync.DataSync(handle);
            size = RandomAccess.GetLength(handle);
            File.Move(prepared, path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not usable (for one, a file of that name exists): the segment is created the old way; the next is prepared anew.
            handle?.Dispose();
            return null;
        }

        try
        {
            NativeSync.SyncDirectory(Directory);
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        return (handle, size);
    }

    /// <summary>A new segment file (what every roll did before segments were prepared): the header, then <paramref name="zeroBytes"/> zeros, synced.</summary>
    private (SafeFileHandle Handle, long FileSize) CreateSegmentFile(string path, long firstSeq, long zeroBytes)
    {
        var size = Math.Max(SegmentHeaderSize, zeroBytes);
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        try
        {
            RandomAccess.Write(handle, Header(firstSeq), 0);
            WriteZeros(handle, SegmentHeaderSize, size - SegmentHeaderSize);
            NativeSync.DataSync(handle);
            NativeSync.SyncDirectory(Directory);
        }
        catch
        {
            handle.Dispose();
            // Not a segment yet (the one before is not sealed): removed, so the roll can be tried again (a header cut short
            // by a full disk would otherwise make every later CreateNew fail).
            SegmentPreparer.TryDelete(path);
            throw;
        }

        return (handle, size);
    }

    /// <summary>Writes <paramref name="count"/> zero bytes at <paramref name="offset"/>.</summary>
    private static void WriteZeros(SafeFileHandle handle, long offset, long count)
    {
        if (count <= 0)
        {
            return;
        }

        var zeros = new byte[(int)Math.Min(count, 1 << 20)];
        while (count > 0)
        {
            var chunk = (int)Math.Min(count, zeros.Length);
            RandomAccess.Write(handle, zeros.AsSpan(0, chunk), offset);
            offset += chunk;
            count -= chunk;
        }
    }

    private void WriteDurably(Segment segment, ReadOnlySpan<byte> data, IReadOnlyList<LogRecord> records, Action<IReadOnlyList<LogRecord>>? written)
    {
        // Overwriting zeros needs no new space, so a full disk would no longer refuse an append; refuse it as before,
        // since DuckDB, beside the log, could not apply it (issue 18: a full disk refuses writes and readiness says so).
        if (NativeSync.AvailableBytes(_active!) is { } available && available < data.Length)
        {
            throw new IOException($"No space left on device: {available} bytes free for {segment.Path}, the append needs {data.Length}", NoSpaceLeftOnDevice);
        }

        // A segment deleted under the writer (its folder removed by hand) still takes writes and syncs, into a file no start
        // will read: refused before anything is acknowledged into it, and for good, as no append here can be durable again.
        if (NativeSync.LinkCount(_active!) == 0)
        {
            _broken = true;
            throw new IOException(
                $"{segment.Path} was deleted while the journal log was writing it (was {Directory} removed?): no append to it would survive a " +
                "restart, so the log accepts no more. Stop the service cleanly (DuckDB then takes every acknowledged event) and start it again, " +
                "which begins a new log after DuckDB's last seq");
        }

        var handedOn = false;
        try
        {
            RandomAccess.Write(_active!, data, segment.Length);
            if (written is not null)
            {
                handedOn = true;
                written(records);
            }

            if (_options.Durability == DurabilityMode.Fsync)
            {
                NativeSync.DataSync(_active!);
            }
        }
        catch (Exception ex) when (handedOn || ex is IOException or UnauthorizedAccessException)
        {
            if (handedOn)
            {
                // Others may hold and acknowledge these records: cutting them from this log alone would make it diverge.
                _broken = true;
                throw new JournalAppendUndecidedException($"appending to {segment.Path} failed ({ex.Message}) after its records were handed on; the log accepts no more appends", ex);
            }

            try
            {
                // Whatever reached the file goes: zeros again over a pre-zeroed segment's room, the file's former size past it.
                WriteZeros(_active!, segment.Length, Math.Min(data.Length, segment.FileSize - segment.Length));
                RandomAccess.SetLength(_active!, Math.Max(segment.Length, segment.FileSize));
            }
            catch (Exception undo) when (undo is IOException or UnauthorizedAccessException)
            {
                _broken = true;
                throw new JournalAppendUndecidedException($"appending to {segment.Path} failed ({ex.Message}) and cutting it back failed too ({undo.Message}); the log accepts no more appends", ex);
            }

            throw;
        }
    }

    /// <summary>What <see cref="Examine"/> read: the segment's records, its bytes, and what its end needs (a header written, or the range of a torn tail to cut).</summary>
    private readonly record struct ScannedSegment(Segment Segment, byte[] Bytes, bool HeaderMissing, (int Start, int End)? Torn);

    private sealed class Segment(string path, long firstSeq)
    {
        public string Path { get; } = path;

        public long FirstSeq { get; } = firstSeq;

        public long LastSeq { get; set; }

        /// <summary>Where the records end: the next record is written here (no longer the file's length, see <see cref="FileSize"/>).</summary>
        public long Length { get; set; }

        /// <summary>The file's length: past <see cref="Length"/> it holds zeros written ahead (a pre-zeroed segment), else equal to it.</summary>
        public long FileSize { get; set; }

        public long LastTerm { get; set; }

        /// <summary>Whether a seal (<see cref="SegmentSeal"/>, whole or half written) follows its last record: it was rolled over.</summary>
        public bool Sealed { get; set; }

        /// <summary>The term runs found when the segment was scanned at open (not kept up to date afterwards).</summary>
        public List<TermRun> Runs { get; } = [];

        public List<(long Seq, long Offset)> Sparse { get; private init; } = [];

        public Segment Snapshot() => new(Path, FirstSeq) { LastSeq = LastSeq, LastTerm = LastTerm, Length = Length, FileSize = FileSize, Sparse = [.. Sparse] };
    }
}
