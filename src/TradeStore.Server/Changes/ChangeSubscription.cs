using System.Collections.Concurrent;
using System.Threading.Channels;

namespace TradeStore.Server.Changes;

/// <summary>
/// One subscriber's queue of committed events. The writer only appends (never waits); when more than
/// <c>Changes:MaxLagEvents</c> would wait behind events already waiting, the subscription stops taking events and <see cref="Lagging"/> fires,
/// so its connection is closed with the seq to resume from instead of growing without bound.
/// </summary>
public sealed class ChangeSubscription : IDisposable
{
    private readonly ConcurrentQueue<ChangeBatch> _queue = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _lagging = new();
    private readonly ChangeFeed _feed;
    private readonly int _maxQueued;
    private int _queued;
    private int _overflowed;

    internal ChangeSubscription(ChangeFeed feed, int maxQueued)
    {
        _feed = feed;
        _maxQueued = maxQueued;
    }

    /// <summary>Fires (on the thread pool) once the subscriber has fallen more than the bound behind.</summary>
    public CancellationToken Lagging => _lagging.Token;

    /// <summary>Whether the subscriber fell more than the bound behind; queued events were dropped.</summary>
    public bool IsLagging => Volatile.Read(ref _overflowed) == 1;

    /// <summary>Events waiting.</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>Called on the writer's thread: append, or mark lagging. Never blocks.</summary>
    internal void Offer(ChangeBatch batch)
    {
        if (Volatile.Read(ref _overflowed) == 1)
        {
            return;
        }

        // By design a subscriber with nothing waiting is not behind, whatever the size of the one batch it is handed
        // (one apply can carry more events than the bound): memory stays within the bound plus one batch.
        var queued = Interlocked.Add(ref _queued, batch.Events.Count);
        if (queued > _maxQueued && queued > batch.Events.Count)
        {
            if (Interlocked.Exchange(ref _overflowed, 1) == 0)
            {
                // By design cancelled off the writer's thread: a cancellation runs the callbacks of a pending write. Counted
                // now, not when the stream ends: a reader that reads nothing ends its stream only after the final grace.
                ThreadPool.UnsafeQueueUserWorkItem(static subscription =>
                {
                    subscription._feed.CountDisconnect("lagging");
                    subscription._lagging.Cancel();
                }, this, preferLocal: false);
                // By design each batch's events are subtracted by whoever dequeues it, and this batch's here: the stream may
                // hold a batch it took but has not subtracted yet, and setting the count to 0 let that subtraction take it
                // below 0 for good (tradestore_changes_queued read negative until the stream closed).
                Interlocked.Add(ref _queued, -batch.Events.Count);
                while (_queue.TryDequeue(out var dropped))
                {
                    Interlocked.Add(ref _queued, -dropped.Events.Count);
                }

                _wake.Writer.TryWrite(true);
            }

            return;
        }

        _queue.Enqueue(batch);
        _wake.Writer.TryWrite(true);
    }

    /// <summary>Takes the next queued batch, if any.</summary>
    public bool TryTake(out ChangeBatch batch)
    {
        if (_queue.TryDequeue(out batch!))
        {
            Interlocked.Add(ref _queued, -batch.Events.Count);
            return true;
        }

        return false;
    }

    /// <summary>Wakes the stream without events: its heartbeat timer's tick.</summary>
    public void Poke() => _wake.Writer.TryWrite(true);

    /// <summary>Waits until events are queued, the subscription lags, or <see cref="Poke"/> is called.</summary>
    public ValueTask<bool> WaitAsync(CancellationToken cancellationToken) => _wake.Reader.ReadAsync(cancellationToken);

    public void Dispose()
    {
        // By design the token source is not disposed: a cancellation queued by Offer may still run.
        _feed.Remove(this);
    }
}
