using System.Diagnostics;
using Microsoft.Extensions.Logging;
using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;

namespace TradeStore.Storage.Engine;

/// <summary>
/// Brings DuckDB up to date behind the journal log (issue #12): a dedicated thread takes every acknowledged batch
/// waiting and writes them into <c>trade_events</c> in ONE transaction (many engine batches per DuckDB commit, since a
/// DuckDB commit costs ~2 ms whatever its size). The rows' <c>max(seq)</c> is the log position the transaction covers,
/// committed atomically with them. The sinks do not wait for it: the <see cref="JournalPublisher"/> tells them of each
/// event as it becomes durable, and they read what DuckDB does not hold yet from this queue (<see cref="Unapplied"/>).
/// When a sealed log segment lies wholly behind the applied seq, DuckDB is checkpointed and the segment recycled. A failed apply is retried from memory with backoff; the events stay durable in the log, and readiness reports DuckDB as trailing (<see cref="StorageWriteHealth.ApplyFailure"/>) until an apply succeeds.
/// DuckDB's FATAL error (it invalidated the database, e.g. a checkpoint that could not write for lack of space) is not
/// retried: it is reported (<see cref="StorageWriteHealth.ReportIfInvalidated"/>), the applier ends, and the engine stops
/// the server so that a restart reopens DuckDB and replays the log into it.
/// </summary>
internal sealed class JournalApplier : IDisposable
{
    /// <summary>Most events written in one DuckDB transaction.</summary>
    public const int MaxApplyBatch = 50_000;

    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan StopRetryBudget = TimeSpan.FromSeconds(5);

    private readonly DuckDbDatabase _database;
    private readonly JournalLog _log;
    private readonly ILogger _logger;
    private readonly EngineMetrics _metrics;
    private readonly object _gate = new();
    private readonly Queue<Acknowledged> _queue = new();
    private readonly List<Acknowledged> _inFlight = [];
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private JournalBatchWriter? _writer;
    private LowPriorityThread? _duckDbCpu;
    private long _appliedSeq;
    private long _backlog;
    private bool _stopping;
    private bool _stopped;
    private long _recycleNotBefore;
    private long _lastApplyEnded;
    private int _urgent;
    private TimeSpan _interval;

    private readonly Func<long> _ceiling;
    private readonly int _maxBacklog;

    /// <param name="maxBacklog">Acknowledged events DuckDB may trail by before <see cref="Enqueue"/> waits (bounds memory if DuckDB stalls).</param>
    /// <param name="interval">Least time between two DuckDB commits, unless a reader waits for one (<see cref="WaitApplied"/>).</param>
    /// <param name="ceiling">
    /// The highest seq DuckDB may hold: a batch is applied only once its last seq is at or below it (call
    /// <see cref="CeilingMoved"/> when it grows). On a leader with synchronous replicas it is the seq the cluster acknowledged,
    /// so DuckDB never holds an event a failover may drop.
    /// </param>
    public JournalApplier(DuckDbDatabase database, JournalLog log, long appliedSeq, int maxBacklog, TimeSpan interval, Func<long> ceiling, ILogger logger,
        EngineMetrics metrics)
    {
        _ceiling = ceiling;
        _interval = interval;
        _maxBacklog = maxBacklog;
        _database = database;
        _log = log;
        _appliedSeq = appliedSeq;
        _logger = logger;
        _metrics = metrics;
    }

    /// <summary>
    /// Least time between two DuckDB commits (see the constructor); a change applies to the next wait at once (a shorter
    /// interval wakes a waiting applier).
    /// </summary>
    public TimeSpan Interval
    {
        get
        {
            lock (_gate)
            {
                return _interval;
            }
        }

        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            lock (_gate)
            {
                _interval = value;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>The last seq DuckDB holds.</summary>
    public long AppliedSeq => Interlocked.Read(ref _appliedSeq);

    /// <summary>Acknowledged events DuckDB does not hold yet.</summary>
    public long Backlog => Interlocked.Read(ref _backlog);

    public void Start()
    {
        _writer = new JournalBatchWriter(_database);
        _duckDbCpu = new LowPriorityThread("duckdb-apply", CpuPriority.Background);
        new Thread(Run) { IsBackground = true, Name = "tradestore-duckdb-apply" }.Start();
    }

    /// <summary>
    /// Called by the writer after the log append: queues the batch; waits while the backlog is full. The applier is woken
    /// only by a batch it can take at once into an empty queue: while batches wait it already knows, and one above the
    /// ceiling waits for <see cref="CeilingMoved"/>. By design: a wake-up per group only to coalesce again cost the writer
    /// a futex call and the machine a context switch per acknowledgement at one connection.
    /// </summary>
    public void Enqueue(List<TradeEvent> events, long acknowledgedAt)
    {
        lock (_gate)
        {
            while (_backlog >= _maxBacklog && !_stopped)
            {
                Monitor.Wait(_gate);
            }

            var wasEmpty = _queue.Count == 0;
            var batch = new Acknowledged(events, acknowledgedAt);
            _queue.Enqueue(batch);
            _backlog += events.Count;
            if (wasEmpty && Publishable(batch))
            {
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>An acknowledged event DuckDB may not hold yet (looked up before DuckDB: an event leaves here only after its commit).</summary>
    public TradeEvent? FindUnapplied(string tradeId, long version)
    {
        lock (_gate)
        {
            return Waiting().FirstOrDefault(e => e.Version == version && e.TradeId == tradeId);
        }
    }

    /// <summary>
    /// Adds to <paramref name="events"/> the events of <paramref name="tradeId"/> that DuckDB does not hold yet, oldest
    /// first, and returns the seq DuckDB holds, both taken at one moment: DuckDB's rows up to that seq and these are the
    /// trade's whole acknowledged history. Walks every waiting batch under the lock, so it is for a read that cannot wait.
    /// </summary>
    public long UnappliedOf(string tradeId, List<TradeEvent> events)
    {
        lock (_gate)
        {
            events.AddRange(Waiting().Where(e => e.TradeId == tradeId));
            return _appliedSeq;
        }
    }

    /// <summary>The events DuckDB does not hold yet, oldest first: the batch being applied, then the queue. Under <c>_gate</c>.</summary>
    private IEnumerable<TradeEvent> Waiting() => _inFlight.Concat(_queue).SelectMany(batch => batch.Events);

    /// <summary>
    /// Adds to <paramref name="batches"/> the batches DuckDB does not hold yet that hold events after
    /// <paramref name="afterSeq"/>, oldest first, until they hold <paramref name="limit"/> such events, and returns the
    /// seq DuckDB holds, both taken at one moment: DuckDB up to that seq and the batches not yet applied are the whole
    /// journal, without a gap. Only references are copied under the lock, which the writer takes at each batch.
    /// </summary>
    public long Unapplied(long afterSeq, int limit, List<List<TradeEvent>> batches)
    {
        lock (_gate)
        {
            long wanted = limit;
            foreach (var batch in _inFlight.Select(b => b.Events).Concat(_queue.Select(b => b.Events)))
            {
                if (batch[^1].Seq <= afterSeq)
                {
                    continue;
                }

                batches.Add(batch);
                wanted -= Math.Min(batch.Count, batch[^1].Seq - afterSeq);
                if (wanted <= 0)
                {
                    break;
                }
            }

            return _appliedSeq;
        }
    }

    /// <summary>Waits until DuckDB holds <paramref name="seq"/>; <see langword="false"/> after <paramref name="timeout"/>.</summary>
    public bool WaitApplied(long seq, TimeSpan timeout)
    {
        if (AppliedSeq >= seq)
        {
            return true;
        }

        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        lock (_gate)
        {
            // A waiting reader cuts the coalescing interval short.
            _urgent++;
            Monitor.PulseAll(_gate);
            try
            {
                while (AppliedSeq < seq)
                {
                    var left = deadline - Stopwatch.GetTimestamp();
                    if (left <= 0 || _stopped)
                    {
                        return AppliedSeq >= seq;
                    }

                    Monitor.Wait(_gate, TimeSpan.FromSeconds((double)left / Stopwatch.Frequency));
                }

                return true;
            }
            finally
            {
                _urgent--;
            }
        }
    }

    /// <summary>
    /// Completes when the applier's thread ends: after <see cref="StopAsync"/>, or on its own after DuckDB's FATAL error
    /// or a fault of its own. Ended while the engine runs, nothing brings DuckDB up to date in this process any more.
    /// </summary>
    public Task Ended => _done.Task;

    /// <summary>Applies everything queued (retrying failures for a few seconds), then stops the thread.</summary>
    public Task StopAsync()
    {
        lock (_gate)
        {
            if (_writer is null)
            {
                return Task.CompletedTask;
            }

            _stopping = true;
            Monitor.PulseAll(_gate);
        }

        return _done.Task;
    }

    public void Dispose()
    {
        _duckDbCpu?.Dispose();
        _writer?.Dispose();
    }

    private void Run()
    {
        var failures = 0;
        long stopDeadline = 0;
        try
        {
            while (true)
            {
                Acknowledged[] taken;
                int count;
                lock (_gate)
                {
                    while (!HasWork() && !_stopping)
                    {
                        Monitor.Wait(_gate);
                    }

                    if (!HasWork())
                    {
                        if (_queue.Count > 0)
                        {
                            // Stopping with events the cluster has not acknowledged: they stay in the log only (replayed at the next start).
                            Log.StoppedWithUnapplied(_logger, AppliedSeq, AppliedSeq + Backlog, "not yet acknowledged by the synchronous replicas");
                        }

                        break;
                    }

                    // Coalesce: DuckDB's commit costs the same ~2 ms for one event or thousands, so the next one waits until
                    // Engine:ApplyInterval has passed since the last, unless someone waits for DuckDB or the stop began.
                    TimeSpan wait;
                    while (!_stopping && _inFlight.Count == 0 && _urgent == 0 && (wait = _interval - SinceLastApply()) > TimeSpan.Zero)
                    {
                        Monitor.Wait(_gate, wait);
                    }

                    // After a failure the same batches are retried (plus what arrived since, up to the limit).
                    count = _inFlight.Sum(b => b.Events.Count);
                    while (_queue.Count > 0 && (count == 0 || count + _queue.Peek().Events.Count <= MaxApplyBatch) && Publishable(_queue.Peek()))
                    {
                        var next = _queue.Dequeue();
                        _inFlight.Add(next);
                        count += next.Events.Count;
                    }

                    taken = [.. _inFlight];
                }

                // Outside the lock, which the writer takes on every acknowledgement: this thread runs at a lower priority.
                var events = new List<TradeEvent>(count);
                foreach (var batch in taken)
                {
                    events.AddRange(batch.Events);
                }

                var started = Stopwatch.GetTimestamp();
                try
                {
                    // Behind the acknowledgement, DuckDB's work gets the CPU after the writer and the HTTP threads; this
                    // thread, which wakes the observers, keeps the normal priority (LowPriorityThread says why).
                    _duckDbCpu!.Run(() => _writer!.Write(events));
                }
                catch (Exception ex)
                {
                    // Any failure of the apply is retried, not only DuckDB's: the events are durable in the log, and an
                    // applier that ended would leave DuckDB behind for the rest of the process. Readiness says so meanwhile.
                    failures++;
                    _metrics.ApplyFailed();
                    _database.WriteHealth.ApplyFailed(ex, events[0].Seq, events[^1].Seq);
                    Log.ApplyFailed(_logger, ex, events[0].Seq, events[^1].Seq, events.Count, failures);
                    if (_database.WriteHealth.ReportIfInvalidated(ex))
                    {
                        // DuckDB invalidated the database: no retry can succeed in this process (the connection even stays
                        // "in a transaction"). The engine stops the server on it; the next start replays the log.
                        StoppedByFatalError();
                        break;
                    }

                    lock (_gate)
                    {
                        if (_stopping)
                        {
                            stopDeadline = stopDeadline == 0 ? Stopwatch.GetTimestamp() + (long)(StopRetryBudget.TotalSeconds * Stopwatch.Frequency) : stopDeadline;
                            if (Stopwatch.GetTimestamp() > stopDeadline)
                            {
                                Log.StoppedWithUnapplied(_logger, AppliedSeq, events[^1].Seq, "DuckDB kept failing");
                                break;
                            }
                        }

                        Monitor.Wait(_gate, TimeSpan.FromTicks(Math.Min(MaxRetryDelay.Ticks, TimeSpan.FromMilliseconds(50).Ticks << Math.Min(failures, 10))));
                    }

                    events.Clear();
                    continue;
                }

                failures = 0;
                _database.WriteHealth.ApplySucceeded();
                var now = Stopwatch.GetTimestamp();
                _metrics.Applied(Stopwatch.GetElapsedTime(started, now));
                lock (_gate)
                {
                    foreach (var batch in _inFlight)
                    {
                        _metrics.ApplyLag(Stopwatch.GetElapsedTime(batch.AcknowledgedAt, now));
                    }

                    _inFlight.Clear();
                    Interlocked.Exchange(ref _appliedSeq, events[^1].Seq);
                    Interlocked.Add(ref _backlog, -events.Count);
                    Monitor.PulseAll(_gate);
                }

                events.Clear();
                if (!MaybeRecycle())
                {
                    StoppedByFatalError();
                    break;
                }

                _lastApplyEnded = Stopwatch.GetTimestamp();
            }
        }
        catch (Exception ex)
        {
            // A fault of the applier's own bookkeeping, not of an apply (those are retried above). Never rethrown on this
            // thread: the engine sees the applier end while it runs (Ended) and stops the server, whose next start replays the log.
            Log.StoppedWithUnapplied(_logger, AppliedSeq, AppliedSeq + Backlog, ex.Message);
        }
        finally
        {
            lock (_gate)
            {
                _stopped = true;
                Monitor.PulseAll(_gate);
            }

            _done.TrySetResult();
        }
    }

    /// <summary>
    /// Checkpoints DuckDB and deletes the log segments it then holds, once a sealed segment lies wholly behind DuckDB;
    /// <see langword="false"/> when the checkpoint met DuckDB's FATAL error (the database is invalidated).
    /// </summary>
    private bool MaybeRecycle()
    {
        if (_log.OldestSealedLastSeq is not { } sealedLast || AppliedSeq < sealedLast || Stopwatch.GetTimestamp() < _recycleNotBefore)
        {
            return true;
        }

        return CheckpointAndRecycle();
    }

    /// <summary>
    /// A DuckDB checkpoint, then the segments wholly at or below the seq DuckDB held before it are deleted. A failed
    /// checkpoint deletes nothing; <see langword="false"/> when it invalidated DuckDB (a checkpoint that could not write
    /// for lack of space does).
    /// </summary>
    private bool CheckpointAndRecycle()
    {
        var covered = AppliedSeq;
        try
        {
            _duckDbCpu!.Run(_database.Checkpoint);
        }
        catch (Exception ex) when (ex is DuckDB.NET.Data.DuckDBException or ObjectDisposedException)
        {
            Log.RecycleCheckpointFailed(_logger, ex);
            _recycleNotBefore = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
            return !_database.WriteHealth.ReportIfInvalidated(ex);
        }

        int deleted;
        try
        {
            deleted = _log.RecycleThrough(covered);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // By design not the end of the applier (it was, until 2026-12-03: DuckDB then trailed for good while writes were
            // still acknowledged): a segment that stays only costs space; the next recycle deletes it.
            Log.RecycleDeleteFailed(_logger, ex, covered);
            _recycleNotBefore = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
            return true;
        }

        if (deleted > 0)
        {
            Log.LogRecycled(_logger, covered, deleted);
        }

        return true;
    }

    /// <summary>The applier ends after DuckDB's FATAL error: what it holds stays in the log for the next start.</summary>
    private void StoppedByFatalError() =>
        Log.StoppedWithUnapplied(_logger, AppliedSeq, AppliedSeq + Backlog, "DuckDB invalidated the database after a fatal error; the next start replays the journal log into it");

    /// <summary>
    /// Time since the last apply ended; <see cref="TimeSpan.MaxValue"/> before the first. By design not the elapsed time
    /// since timestamp 0: that is the machine's uptime, so on a machine up for less than the interval the first apply
    /// waited out the difference (a fresh CI machine, 49 minutes up, with a test's one-hour interval).
    /// </summary>
    private TimeSpan SinceLastApply() => _lastApplyEnded == 0 ? TimeSpan.MaxValue : Stopwatch.GetElapsedTime(_lastApplyEnded);

    /// <summary>Under the gate: a failed batch to retry, or a queued one at or below the ceiling.</summary>
    private bool HasWork() => _inFlight.Count > 0 || (_queue.Count > 0 && Publishable(_queue.Peek()));

    private bool Publishable(Acknowledged batch) => batch.Events[^1].Seq <= _ceiling();

    /// <summary>The ceiling (<c>ceiling</c> of the constructor) moved: batches below it may be applied now.</summary>
    public void CeilingMoved()
    {
        lock (_gate)
        {
            Monitor.PulseAll(_gate);
        }
    }

    private sealed record Acknowledged(List<TradeEvent> Events, long AcknowledgedAt);
}
