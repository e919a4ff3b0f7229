namespace TradeStore.Storage.Sync;

/// <summary>
/// Mirrors one sink's checkpoint into DuckDB's <c>sync_checkpoints</c> (<see cref="SyncCheckpoints"/>), for reports and
/// for the sink's next start, at most once per <see cref="Interval"/> and off the sink's path.
/// </summary>
/// <remarks>
/// By design never on the delivery path: a DuckDB commit can wait behind a DuckDB checkpoint or a <c>trade_state</c>
/// flush for hundreds of milliseconds (measured: 453 ms for one ClickHouse batch at 10,000 trades/s), and delivery must
/// not wait with it. A sink's true position is in the sink itself (Redis's checkpoint key, ClickHouse's
/// <c>max(seq)</c>); this copy may trail it by up to the interval. One write is in flight at a time, so an older
/// checkpoint never lands after a newer one. At a stop, <see cref="Flush"/> writes the last one synchronously.
/// </remarks>
public sealed class CheckpointMirror(SyncCheckpoints checkpoints, string sink, TimeProvider time, Action<Exception, long> failed)
{
    /// <summary>Least time between two writes (each is a DuckDB commit).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly object _gate = new();
    private Task _writing = Task.CompletedTask;
    private long _recorded = -1;
    private long _lastWrite;
    private bool _written;

    /// <summary>The last checkpoint written to DuckDB, -1 before the first.</summary>
    public long Recorded => Volatile.Read(ref _recorded);

    /// <summary>Writes <paramref name="checkpoint"/> in the background unless a write is in flight or one was started less than <see cref="Interval"/> ago.</summary>
    public void Offer(long checkpoint)
    {
        lock (_gate)
        {
            var now = time.GetTimestamp();
            if (checkpoint < 0 || checkpoint == Recorded || !_writing.IsCompleted || (_written && time.GetElapsedTime(_lastWrite, now) < Interval))
            {
                return;
            }

            (_lastWrite, _written) = (now, true);
            _writing = Task.Run(() => Write(checkpoint));
        }
    }

    /// <summary>Waits for the write in flight, then writes <paramref name="checkpoint"/> if it is not recorded yet; a failure is reported, not thrown.</summary>
    public void Flush(long checkpoint)
    {
        try
        {
            Set(checkpoint);
        }
        catch (Exception ex)
        {
            failed(ex, checkpoint);
        }
    }

    /// <summary>
    /// Waits for the write in flight, then writes <paramref name="checkpoint"/> at once if it is not recorded yet, so that
    /// no older write lands after it; a failure is thrown (<see cref="SyncCheckpoints.Set"/>).
    /// </summary>
    public void Set(long checkpoint)
    {
        Task writing;
        lock (_gate)
        {
            writing = _writing;
        }

        writing.Wait();
        if (checkpoint >= 0 && checkpoint != Recorded)
        {
            Record(checkpoint);
        }
    }

    /// <summary>The background write: a failure is reported, and the next offer tries again.</summary>
    private void Write(long checkpoint)
    {
        try
        {
            Record(checkpoint);
        }
        catch (Exception ex)
        {
            failed(ex, checkpoint);
        }
    }

    private void Record(long checkpoint)
    {
        checkpoints.Set(sink, checkpoint);
        Volatile.Write(ref _recorded, checkpoint);
    }
}
