using Microsoft.Win32.SafeHandles;

namespace TradeStore.Storage.CommitLog;

/// <summary>
/// Prepares the journal log's next segment on a background thread: a file of the full segment size filled with real
/// zero bytes, synced, then renamed to <see cref="ReadyName"/>. By design zeros written, not <c>fallocate</c> or a
/// sparse <c>ftruncate</c>: the <see cref="JournalLog"/> then only overwrites blocks that already exist, so its
/// <c>fdatasync</c> has no file size or extent to record (measured on ext4: 91 µs against 129 µs when appending).
/// </summary>
/// <remarks>
/// The writer takes the file with <see cref="TryTake"/> when it rolls; when none is ready it creates a segment the old
/// way, so no acknowledgement ever waits for the zero-filling. A <see cref="ReadyName"/> file survives a restart and is
/// used when its length is the configured size; a <see cref="PreparingName"/> file is a half-done one and is deleted.
/// Neither name ends in <see cref="JournalLog.SegmentExtension"/>, so neither is ever read as a segment.
/// </remarks>
internal sealed class SegmentPreparer : IDisposable
{
    /// <summary>The prepared file, complete and synced.</summary>
    public const string ReadyName = "next-segment.zeroed";

    /// <summary>The file while it is being filled.</summary>
    public const string PreparingName = "next-segment.zeroing";

    private const int Idle = 0;
    private const int Running = 1;
    private const int Ready = 2;
    private const int Failed = 3;
    private const int ChunkBytes = 1 << 20;

    /// <summary>Zeros synced every this many bytes, so the write-back never piles up behind the writer's own syncs.</summary>
    private const long SyncEveryBytes = 8L << 20;

    private readonly string _directory;
    private readonly long _bytes;
    private readonly ManualResetEventSlim _readySignal = new(false);
    private Thread? _thread;
    private int _state;
    private volatile bool _stopping;
    private bool _checkedExisting;

    public SegmentPreparer(string directory, long bytes)
    {
        _directory = directory;
        _bytes = bytes;
    }

    /// <summary>Whether a prepared file is waiting to be taken.</summary>
    public bool IsReady => Volatile.Read(ref _state) == Ready;

    /// <summary>The last error that stopped a preparation (the writer then creates segments the old way), or <see langword="null"/>.</summary>
    public Exception? LastError { get; private set; }

    private string ReadyPath => Path.Combine(_directory, ReadyName);

    private string PreparingPath => Path.Combine(_directory, PreparingName);

    /// <summary>
    /// Starts preparing a file unless one is ready or being prepared. After a failure nothing is retried until
    /// <see cref="Retry"/> (called at the next roll), so a full disk is not hammered on every append.
    /// </summary>
    public void Start()
    {
        if (_stopping || Interlocked.CompareExchange(ref _state, Running, Idle) != Idle)
        {
            return;
        }

        if (!_checkedExisting)
        {
            _checkedExisting = true;
            if (File.Exists(ReadyPath) && new FileInfo(ReadyPath).Length == _bytes)
            {
                // Prepared before a restart; at most its first bytes were written (a crash between a roll's header write and its rename), and a roll rewrites those.
                _readySignal.Set();
                Volatile.Write(ref _state, Ready);
                return;
            }
        }

        _readySignal.Reset();
        _thread = new Thread(Prepare) { IsBackground = true, Name = "journal segment preparer", Priority = ThreadPriority.BelowNormal };
        _thread.Start();
    }

    /// <summary>Allows <see cref="Start"/> again after a failed preparation.</summary>
    public void Retry() => Interlocked.CompareExchange(ref _state, Idle, Failed);

    /// <summary>Takes the prepared file, if one is ready: returns its path; the caller renames it into place.</summary>
    public string? TryTake()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Ready) != Ready)
        {
            return null;
        }

        _readySignal.Reset();
        return ReadyPath;
    }

    /// <summary>Waits until a prepared file is ready (tests and benchmarks); false when none is within <paramref name="timeout"/>.</summary>
    public bool WaitReady(TimeSpan timeout) => _readySignal.Wait(timeout) && IsReady;

    /// <summary>Stops a preparation in progress (its half-filled file is deleted); a ready file is kept for the next start.</summary>
    public void Dispose()
    {
        _stopping = true;
        _thread?.Join();
        _readySignal.Dispose();
    }

    private void Prepare()
    {
        try
        {
            File.Delete(PreparingPath);
            File.Delete(ReadyPath);
            using (var handle = File.OpenHandle(PreparingPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete))
            {
                if (!Fill(handle))
                {
                    handle.Dispose();
                    File.Delete(PreparingPath);
                    Volatile.Write(ref _state, Idle);
                    return;
                }
            }

            File.Move(PreparingPath, ReadyPath);
            NativeSync.SyncDirectory(_directory);
            Volatile.Write(ref _state, Ready);
            _readySignal.Set();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LastError = ex;
            TryDelete(PreparingPath);
            Volatile.Write(ref _state, Failed);
        }
    }

    /// <summary>Writes zeros to <see cref="_bytes"/> and syncs them; false when stopped part way.</summary>
    private bool Fill(SafeFileHandle handle)
    {
        var zeros = new byte[ChunkBytes];
        long written = 0;
        long synced = 0;
        while (written < _bytes)
        {
            if (_stopping)
            {
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
        return true;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The error being reported is the one that stopped the preparation.
        }
    }
}
