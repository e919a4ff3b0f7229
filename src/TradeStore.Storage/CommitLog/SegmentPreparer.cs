using Microsoft.Win32.SafeHandles;

namespace TradeStore.Storage.CommitLog;

/// <summary>
/// Prepares pre-zeroed journal log files on a background thread, so that the <see cref="JournalLog"/> writer only
/// overwrites blocks that already exist and its <c>fdatasync</c> has no file size or extent to record (measured on
/// ext4: 91 µs per sync when overwriting against 129 µs when appending). By design real zero bytes written and synced,
/// not <c>fallocate</c> or a sparse <c>ftruncate</c>: unwritten extents still cost a metadata update on the first write.
/// </summary>
/// <remarks>
/// <para>Two products, one at a time: <see cref="ZeroedName"/>, a file of the full segment size holding only zeros (the
/// writer renames it into place at its next roll), and <see cref="ReseatName"/>, the same file with the first bytes of
/// the segment being written copied in (the writer copies the few records appended since, then renames it over that
/// segment: the segment keeps its name and records and gains a zero tail). The second serves a segment that was created
/// when nothing was ready, or whose zero tail a clean stop cut, without sealing it early.</para>
/// <para>The writer never waits for either: it takes a product when one is ready and otherwise writes as before.
/// Neither name ends in <see cref="JournalLog.SegmentExtension"/>, so neither is ever read as a segment. At the first
/// request after a start, <see cref="PreparingName"/> (half done) and <see cref="ReseatName"/> (copied from a file that
/// may since have changed) are deleted; a <see cref="ZeroedName"/> file of the configured size is used.</para>
/// <para>The writer calls every member under its lock; only the background thread runs outside it.</para>
/// </remarks>
internal sealed class SegmentPreparer : IDisposable
{
    /// <summary>The prepared file, complete and synced: zeros only (a roll rewrites its first bytes as the header).</summary>
    public const string ZeroedName = "next-segment.zeroed";

    /// <summary>The zeroed file with the start of the segment being written copied in.</summary>
    public const string ReseatName = "next-segment.reseat";

    /// <summary>The file while it is being filled with zeros.</summary>
    public const string PreparingName = "next-segment.zeroing";

    private const int Idle = 0;
    private const int Running = 1;
    private const int ZeroedReady = 2;
    private const int ReseatReady = 3;
    private const int Failed = 4;
    private const int ChunkBytes = 1 << 20;

    /// <summary>Zeros synced every this many bytes, so write-back never piles up behind the writer's own syncs.</summary>
    private const long SyncEveryBytes = 8L << 20;

    private readonly string _directory;
    private readonly long _bytes;
    private readonly ManualResetEventSlim _settled = new(true);
    private Thread? _thread;
    private int _state;
    private long _failures;
    private volatile bool _stopping;
    private bool _cleaned;
    private string? _reseatSource;
    private long _reseatLength;

    public SegmentPreparer(string directory, long bytes)
    {
        _directory = directory;
        _bytes = bytes;
    }

    /// <summary>Whether a zeroed file is waiting for the next roll.</summary>
    public bool IsZeroedReady => Volatile.Read(ref _state) == ZeroedReady;

    /// <summary>The last error that stopped a preparation (the writer then writes as before), or <see langword="null"/>.</summary>
    public Exception? LastError { get; private set; }

    /// <summary>Preparations that failed (a zeroed file not made, or a reseat not done), since the log was opened.</summary>
    public long FailureCount => Interlocked.Read(ref _failures);

    private string ZeroedPath => Path.Combine(_directory, ZeroedName);

    private string ReseatPath => Path.Combine(_directory, ReseatName);

    private string PreparingPath => Path.Combine(_directory, PreparingName);

    /// <summary>Starts preparing a zeroed file unless one is ready or something is being prepared.</summary>
    public void RequestZeroed()
    {
        if (Volatile.Read(ref _state) == ReseatReady)
        {
            // Made for a segment that has since been sealed: of no use any more.
            Discard();
        }

        if (Volatile.Read(ref _state) == Idle)
        {
            Run(reseatSource: null, 0);
        }
    }

    /// <summary>
    /// Starts copying the first <paramref name="length"/> bytes of <paramref name="segment"/> into a zeroed file (made
    /// first when none is ready), unless something is being prepared or a copy is ready.
    /// </summary>
    public void RequestReseat(string segment, long length)
    {
        var state = Volatile.Read(ref _state);
        if (state == ReseatReady && _reseatSource != segment)
        {
            Discard();
            state = Idle;
        }

        if (state is Idle or ZeroedReady)
        {
            Run(segment, length);
        }
    }

    /// <summary>Allows requests again after a failed preparation (called at a roll, so a full disk is not retried on every append).</summary>
    public void Retry() => Interlocked.CompareExchange(ref _state, Idle, Failed);

    /// <summary>Takes the zeroed file, if one is ready: returns its path; the caller renames it into place.</summary>
    public string? TakeZeroed() => Interlocked.CompareExchange(ref _state, Idle, ZeroedReady) == ZeroedReady ? ZeroedPath : null;

    /// <summary>Takes the copy of <paramref name="segment"/>, if one is ready: its path and how many bytes were copied.</summary>
    public (string Path, long Copied)? TakeReseat(string segment)
    {
        if (Volatile.Read(ref _state) != ReseatReady || _reseatSource != segment)
        {
            return null;
        }

        Volatile.Write(ref _state, Idle);
        return (ReseatPath, _reseatLength);
    }

    /// <summary>Drops whatever is ready or being made (the segment it was for changed); waits for the thread.</summary>
    public void Discard()
    {
        _stopping = true;
        _thread?.Join();
        _stopping = false;
        TryDelete(ReseatPath);
        TryDelete(PreparingPath);
        if (Volatile.Read(ref _state) is ReseatReady or Running)
        {
            Volatile.Write(ref _state, Idle);
        }
    }

    /// <summary>After a failed use of a product: nothing more is attempted until the next roll (<see cref="Retry"/>).</summary>
    public void MarkFailed(Exception error)
    {
        LastError = error;
        Interlocked.Increment(ref _failures);
        Volatile.Write(ref _state, Failed);
    }

    /// <summary>Waits until nothing is being prepared (tests and benchmarks); true when a zeroed file or a copy is then ready.</summary>
    public bool WaitSettled(TimeSpan timeout) => _settled.Wait(timeout) && Volatile.Read(ref _state) is ZeroedReady or ReseatReady;

    /// <summary>Stops a preparation in progress (its half-made file is deleted); a ready zeroed file is kept for the next start.</summary>
    public void Dispose()
    {
        _stopping = true;
        _thread?.Join();
        if (_cleaned)
        {
            // Only what this process made: a log opened and closed without a write changes nothing (exit 5 promises that).
            TryDelete(ReseatPath);
        }

        _settled.Dispose();
    }

    private void Run(string? reseatSource, long length)
    {
        if (_stopping)
        {
            return;
        }

        var zeroedReady = Volatile.Read(ref _state) == ZeroedReady;
        if (!_cleaned)
        {
            _cleaned = true;
            TryDelete(PreparingPath);
            TryDelete(ReseatPath);
            zeroedReady = File.Exists(ZeroedPath) && new FileInfo(ZeroedPath).Length == _bytes;
            if (zeroedReady && reseatSource is null)
            {
                // Prepared before a restart. At most its header was written (a crash between a roll's header write and its rename), and a roll rewrites that.
                Volatile.Write(ref _state, ZeroedReady);
                return;
            }
        }

        Volatile.Write(ref _state, Running);
        _settled.Reset();
        _thread = new Thread(() => Prepare(zeroedReady, reseatSource, length))
        {
            IsBackground = true,
            Name = "journal segment preparer",
            Priority = ThreadPriority.BelowNormal,
        };
        _thread.Start();
    }

    private void Prepare(bool zeroedReady, string? reseatSource, long length)
    {
        try
        {
            if (!zeroedReady && !Zero())
            {
                Volatile.Write(ref _state, Idle);
                return;
            }

            if (reseatSource is null)
            {
                Volatile.Write(ref _state, ZeroedReady);
                return;
            }

            Copy(reseatSource, length);
            _reseatSource = reseatSource;
            _reseatLength = length;
            Volatile.Write(ref _state, ReseatReady);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(PreparingPath);
            TryDelete(ReseatPath);
            MarkFailed(ex);
        }
        finally
        {
            _settled.Set();
        }
    }

    /// <summary>Makes <see cref="ZeroedName"/>: zeros to the segment size, synced, then renamed; false when stopped part way.</summary>
    private bool Zero()
    {
        File.Delete(PreparingPath);
        File.Delete(ZeroedPath);
        // Never takes the last of the disk (DuckDB beside the log needs it, and a fill that fails would hand it back
        // moments later, so the disk would look full and then not): at least twice the file's size must be free.
        if (NativeSync.AvailableBytes(_directory) is { } available && available < 2 * _bytes)
        {
            throw new IOException($"not preparing a {_bytes}-byte journal segment: only {available} bytes are free in {_directory}");
        }

        using (var handle = File.OpenHandle(PreparingPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete))
        {
            var zeros = new byte[ChunkBytes];
            long written = 0;
            long synced = 0;
            while (written < _bytes)
            {
                if (_stopping)
                {
                    handle.Dispose();
                    File.Delete(PreparingPath);
                    return false;
                }

                var count = (int)Math.Min(ChunkBytes, _bytes - written);
                RandomAccess.Write(handle, zeros.AsSpan(0, count), written);
                written += count;
                if (written - synced >= SyncEveryBytes)
                {
                    NativeSync.DataSync(handle);
                    synced = written;
                }
            }

            NativeSync.DataSync(handle);
        }

        File.Move(PreparingPath, ZeroedPath);
        NativeSync.SyncDirectory(_directory);
        return true;
    }

    /// <summary>Copies the first <paramref name="length"/> bytes of <paramref name="source"/> into the zeroed file, synced, and renames it <see cref="ReseatName"/>.</summary>
    private void Copy(string source, long length)
    {
        using (var target = File.OpenHandle(ZeroedPath, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete))
        using (var from = File.OpenHandle(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            CopyRange(from, target, 0, length);
            NativeSync.DataSync(target);
        }

        File.Move(ZeroedPath, ReseatPath);
    }

    /// <summary>Copies bytes <paramref name="offset"/> to <paramref name="end"/> of <paramref name="from"/> to the same place in <paramref name="to"/>.</summary>
    public static void CopyRange(SafeFileHandle from, SafeFileHandle to, long offset, long end)
    {
        var buffer = new byte[(int)Math.Clamp(end - offset, 1, ChunkBytes)];
        while (offset < end)
        {
            var read = RandomAccess.Read(from, buffer.AsSpan(0, (int)Math.Min(buffer.Length, end - offset)), offset);
            if (read <= 0)
            {
                throw new IOException($"the segment ended at byte {offset} while copying it (expected {end})");
            }

            RandomAccess.Write(to, buffer.AsSpan(0, read), offset);
            offset += read;
        }
    }

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Whatever error matters is the one being reported.
        }
    }
}
