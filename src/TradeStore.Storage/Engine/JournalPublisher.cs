using TradeStore.Core.Threading;
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
/// <remarks>
/// By design a batch that no observer listens for (the embedded default with no change-feed stream open) is marked
/// published on the writer's thread, and the publisher's thread is not woken: one thread wake-up per write group for
/// nobody made about 19 server context switches per write of one sequential client instead of 13 (docs/write-path.md).
/// </remarks>
internal sealed class JournalPublisher
{
    private readonly object _gate = new();
    private readonly Queue<List<TradeEvent>> _waiting = new();
    private readonly Func<long> _ceiling;
    private readonly Action<IReadOnlyList<TradeEvent>> _publish;
    private readonly Func<bool> _listening;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _publishedSeq;
    private bool _started;
    private bool _busy;
    private bool _stopping;

    /// <param name="publishedSeq">The last seq published before this start (what DuckDB held once the log was replayed).</param>
    /// <param name="ceiling">The highest seq that may be published (see <see cref="JournalApplier"/>'s ceiling).</param>
    /// <param name="publish">Tells the observers; called on the publisher's thread, one engine batch at a time.</param>
    /// <param name="listening">Whether any observer wants to be told now (<see cref="ICommitObserver.IsListening"/>).</param>
    public JournalPublisher(long publishedSeq, Func<long> ceiling, Action<IReadOnlyList<TradeEvent>> publish, Func<bool> listening)
    {
        _publishedSeq = publishedSeq;
        _ceiling = ceiling;
        _publish = publish;
        _listening = listening;
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
    /// (on a leader with synchronous replicas a wake-up per group would find nothing to do). A batch that may be published
    /// now, with nothing before it still to publish and no observer listening, is marked published here.
    /// </summary>
    public void Offer(List<TradeEvent> events)
    {
        lock (_gate)
        {
            if (_waiting.Count == 0 && !_busy && events[^1].Seq <= _ceiling())
            {
                // Marked before the observers are asked: one that subscribes after the question reads it from the journal.
                Interlocked.Exchange(ref _publishedSeq, events[^1].Seq);
                if (!_listening())
                {
                    return;
                }
            }

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

                    _busy = true;
                }

                foreach (var batch in ready)
                {
                    // Before the observers hear of it, so that a reader they wake finds it (PublishedJournal).
                    InterlockedMax.Raise(ref _publishedSeq, batch[^1].Seq);
                    _publish(batch);
                }

                ready.Clear();
                lock (_gate)
                {
                    _busy = false;
                }
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
