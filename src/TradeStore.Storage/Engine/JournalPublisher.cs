using TradeStore.Core.Trades;

namespace TradeStore.Storage.Engine;

/// <summary>
/// Tells the commit observers (the Redis projection, the ClickHouse sync, the change feed) of every acknowledged event,
/// in <c>seq</c> order, once it is durable in the journal log and at or below the ceiling: on a leader with synchronous
/// replicas, once the cluster acknowledged it. It runs on its own thread, so they no longer wait for DuckDB: a DuckDB
/// checkpoint, whether our own before a segment is recycled or DuckDB's automatic one inside a commit, holds the
/// applier for up to ~0.65 s at 10,000 trades/s (docs/benchmarks/2026-12-01-session9.md). What it published is
/// readable at once through <see cref="Journal.PublishedJournal"/>, from DuckDB or from the applier's queue.
/// </summary>
internal sealed class JournalPublisher
{
    private readonly object _gate = new();
    private readonly Queue<List<TradeEvent>> _waiting = new();
    private readonly Func<long> _ceiling;
    private readonly Action<IReadOnlyList<TradeEvent>> _publish;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _publishedSeq;
    private bool _started;
    private bool _stopping;

    /// <param name="publishedSeq">The last seq published before this start (what DuckDB held once the log was replayed).</param>
    /// <param name="ceiling">The highest seq that may be published (see <see cref="JournalApplier"/>'s ceiling).</param>
    /// <param name="publish">Tells the observers; called on the publisher's thread, one engine batch at a time.</param>
    public JournalPublisher(long publishedSeq, Func<long> ceiling, Action<IReadOnlyList<TradeEvent>> publish)
    {
        _publishedSeq = publishedSeq;
        _ceiling = ceiling;
        _publish = publish;
    }

    /// <summary>The last seq the observers were told of (or are being told of).</summary>
    public long PublishedSeq => Interlocked.Read(ref _publishedSeq);

    public void Start()
    {
        lock (_gate)
        {
            _started = true;
        }

        new Thread(Run) { IsBackground = true, Name = "tradestore-publish" }.Start();
    }

    /// <summary>
    /// Called by the writer after the log append and the applier's <see cref="JournalApplier.Enqueue"/>: never blocks.
    /// The thread is woken only when the batch may be published now; above the ceiling, <see cref="CeilingMoved"/> wakes it
    /// (on a leader with synchronous replicas a wake-up per group would find nothing to do).
    /// </summary>
    public void Offer(List<TradeEvent> events)
    {
        lock (_gate)
        {
            _waiting.Enqueue(events);
            if (events[^1].Seq <= _ceiling())
            {
                Monitor.Pulse(_gate);
            }
        }
    }

    /// <summary>The ceiling grew: batches at or below it may be published now.</summary>
    public void CeilingMoved()
    {
        lock (_gate)
        {
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>Publishes everything offered at or below the ceiling, then stops the thread. What lies above stays in the log only.</summary>
    public Task StopAsync()
    {
        lock (_gate)
        {
            if (!_started)
            {
                return Task.CompletedTask;
            }

            _stopping = true;
            Monitor.Pulse(_gate);
        }

        return _done.Task;
    }

    private void Run()
    {
        var ready = new List<List<TradeEvent>>();
        try
        {
            while (true)
            {
                lock (_gate)
                {
                    while (!HasReady() && !_stopping)
                    {
                        Monitor.Wait(_gate);
                    }

                    if (!HasReady())
                    {
                        break;
                    }

                    var ceiling = _ceiling();
                    while (_waiting.Count > 0 && _waiting.Peek()[^1].Seq <= ceiling)
                    {
                        ready.Add(_waiting.Dequeue());
                    }
                }

                foreach (var batch in ready)
                {
                    // Before the observers hear of it, so that a reader they wake finds it (PublishedJournal).
                    Interlocked.Exchange(ref _publishedSeq, batch[^1].Seq);
                    _publish(batch);
                }

                ready.Clear();
            }
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    /// <summary>Under the gate: the oldest waiting batch is at or below the ceiling.</summary>
    private bool HasReady() => _waiting.Count > 0 && _waiting.Peek()[^1].Seq <= _ceiling();
}
