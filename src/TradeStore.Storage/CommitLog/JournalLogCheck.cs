namespace TradeStore.Storage.CommitLog;

/// <summary>
/// What <see cref="JournalLog.Check"/> found, reading the log without changing it: its segments (every header and
/// record checksum intact, seqs contiguous) and what <see cref="JournalLog.Open"/> would do to it at start-up.
/// </summary>
public sealed class JournalLogCheck : IJournalLogView
{
    private readonly Func<long, IEnumerable<LogRecord>> _readFrom;

    internal JournalLogCheck(string directory, bool exists, IReadOnlyList<JournalLogSegmentInfo> segments, TornTailFound? tornTail, string? headerToWrite,
        Func<long, IEnumerable<LogRecord>> readFrom)
    {
        Directory = directory;
        Exists = exists;
        Segments = segments;
        TornTail = tornTail;
        HeaderToWrite = headerToWrite;
        _readFrom = readFrom;
    }

    /// <inheritdoc />
    public string Directory { get; }

    /// <summary>Whether the folder exists (<see cref="JournalLog.Open"/> creates it when it does not).</summary>
    public bool Exists { get; }

    /// <inheritdoc />
    public bool WasCreated => !Exists;

    /// <summary>The segments, oldest first.</summary>
    public IReadOnlyList<JournalLogSegmentInfo> Segments { get; }

    /// <summary>A torn tail <see cref="JournalLog.Open"/> would cut (keeping the bytes beside it), or <see langword="null"/>.</summary>
    public TornTailFound? TornTail { get; }

    /// <summary>The last segment when a crash left it shorter than its header, all zeros: <see cref="JournalLog.Open"/> writes its header.</summary>
    public string? HeaderToWrite { get; }

    /// <inheritdoc />
    public bool IsEmpty => Segments.Count == 0;

    /// <inheritdoc />
    public long FirstSeq => Segments.Count == 0 ? 1 : Segments[0].FirstSeq;

    /// <inheritdoc />
    public long LastSeq => Segments.Count == 0 ? 0 : Segments[^1].LastSeq;

    /// <summary>How many records the segments hold.</summary>
    public long Records => Segments.Sum(s => s.Records);

    /// <inheritdoc />
    public IReadOnlyList<string> SegmentFiles => [.. Segments.Select(s => s.File)];

    /// <inheritdoc />
    public IEnumerable<LogRecord> ReadFrom(long seq) => _readFrom(seq);
}

/// <summary>One segment as <see cref="JournalLog.Check"/> read it.</summary>
/// <param name="File">The segment file.</param>
/// <param name="FirstSeq">The seq its name and header give.</param>
/// <param name="LastSeq">Its last whole record's seq (<paramref name="FirstSeq"/> - 1 when it holds none).</param>
/// <param name="Length">Where its records end.</param>
/// <param name="FileSize">The file's length (past <paramref name="Length"/>: zeros written ahead, or a torn tail).</param>
public sealed record JournalLogSegmentInfo(string File, long FirstSeq, long LastSeq, long Length, long FileSize)
{
    /// <summary>How many records it holds.</summary>
    public long Records => LastSeq - FirstSeq + 1;
}

/// <summary>A torn tail <see cref="JournalLog.Check"/> found and <see cref="JournalLog.Open"/> would cut (see <see cref="CommitLog.TornTail"/>).</summary>
/// <param name="File">The segment.</param>
/// <param name="Offset">Where the cut would begin.</param>
/// <param name="Bytes">How many bytes it would cut.</param>
public sealed record TornTailFound(string File, long Offset, long Bytes);
