using DuckDB.NET.Data;
using Microsoft.Extensions.Logging;
using TradeStore.Core.Trades;

namespace TradeStore.Storage.Engine;

/// <summary>
/// Keeps <c>trade_state</c> off the writer's commit path: after each commit the writer hands over the batch's final
/// states, and a dedicated thread writes everything pending in ONE transaction (Appender for created trades, staging
/// table + one <c>UPDATE … FROM</c> for changed ones, and the <c>'trade_state'</c> checkpoint), when the oldest pending
/// change is <see cref="Core.Options.EngineOptions.StateFlushInterval"/> old, when <see cref="MaxPending"/> trades wait,
/// and at shutdown. By design: a state write costs mostly per transaction (about 1 ms per table appended to, plus a
/// full scan for the update), not per row, so doing it rarely for many rows is what takes it off the latency path.
/// Reads stay exact meanwhile: the state index is updated by the writer, <c>current_trade_state</c> overlays the journal.
/// Every timestamp, deadline and wait goes through the engine's <see cref="TimeProvider"/>, so a test can move its clock.
/// </summary>
internal sealed class TradeStateFlusher : IDisposable
{
    /// <summary>Pending trades that trigger a flush without waiting for the interval.</summary>
    public const int MaxPending = 50_000;

    /// <summary>Largest flushed map kept for reuse: a map grown during a DuckDB stall is left to the GC rather than held.</summary>
    private const int MaxSpareEntries = 2 * MaxPending;

    private const string StagingTable = "trade_state_flush_staging";

    // The fixed fields (account, symbol, side, created_at) never change after the create.
    private static readonly string UpdateFromStaging =
        $"UPDATE trade_state SET {TradeStateRow.UpdateSet("s")} FROM {StagingTable} s WHERE trade_state.trade_id = s.trade_id";

    /// <summary>
    /// By design the flusher is busy at most a quarter of the time: the next flush waits three times as long as the last
    /// one took (up to <see cref="MaxPacing"/>). The set-based UPDATE scans the whole table, so its cost is per flush,
    /// not per row: at 10,000,000 trades a flush every 200 ms kept DuckDB busy and the writer's commits waited behind it
    /// (mixed 9,900 trades/s, p99 4 s); fewer, larger flushes pay that scan less often.
    /// </summary>
    private const int PacingFactor = 3;

    private static readonly TimeSpan MaxPacing = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MinRetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly DuckDbDatabase _database;
    private readonly TimeSpan _interval;
    private readonly ILogger _logger;
    private readonly EngineMetrics _metrics;
    private readonly Func<long, bool> _waitApplied;
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private DuckDBConnection? _connection;
    private LowPriorityThread? _duckDbCpu;
    private Dictionary<string, PendingState> _pending = new(StringComparer.Ordinal);

    /// <summary>
    /// The map of the last batch flushed, emptied, waiting to become the next pending map: a map of tens of thousands of
    /// entries lies on the large-object heap, and growing a new one every flush left dead ones there for a full GC.
    /// </summary>
    private Dictionary<string, PendingState>? _spare;
    private long _pendingSeq;
    private long _flushedSeq;
    private long _oldestPendingAt;
    private long _retryAt;
    private long _pacedUntil;
    private int _failures;
    private bool _stopping;
    private bool _started;

    /// <param name="waitApplied">
    /// Waits (boundedly) until DuckDB's <c>trade_events</c> holds a seq; false when it did not get there. By design a
    /// flush never records a <c>trade_state</c> checkpoint ahead of the journal rows DuckDB holds (the states come from
    /// acknowledgements, which the journal log makes durable before DuckDB has them).
    /// </param>
    /// <param name="time">The clock of the interval, the pacing and the retry back-off.</param>
    public TradeStateFlusher(DuckDbDatabase database, TimeSpan interval, ILogger logger, EngineMetrics metrics, TimeProvider time, Func<long, bool>? waitApplied = null)
    {
        _time = time;
        _waitApplied = waitApplied ?? (_ => true);
        _database = database;
        _interval = interval;
        _logger = logger;
        _metrics = metrics;
    }

    /// <summary>The last <c>seq</c> whose state <c>trade_state</c> holds (the committed checkpoint).</summary>
    public long FlushedSeq => Interlocked.Read(ref _flushedSeq);

    /// <summary>
    /// Reads the checkpoint and the journal tail after it (trades whose state is newer than <c>trade_state</c>, e.g.
    /// after a kill before a flush) as the first pending set, and starts the flush thread. Before the writer starts.
    /// </summary>
    public void Start()
    {
        _connection = _database.OpenConnection();
        Execute($"CREATE OR REPLACE TEMP TABLE {StagingTable} AS SELECT * FROM trade_state LIMIT 0");
        var checkpoint = TradeStateCheckpoint.Read(_connection, null);
        var tail = new Dictionary<string, PendingState>(StringComparer.Ordinal);
        var last = checkpoint;
        using (var command = _connection.CreateCommand())
        {
            // By design the checkpoint is a parameter: a constant seq bound lets DuckDB skip the journal before it.
            command.CommandText = $"""
                SELECT {TradeStateRow.Columns}, NOT EXISTS (SELECT 1 FROM trade_state s WHERE s.trade_id = t.trade_id) AS created
                FROM ({TradeStateRow.TailQuery("$checkpoint")}) t
                """;
            command.Parameters.Add(new DuckDBParameter("checkpoint", checkpoint));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var state = TradeStateRow.Read(reader);
                tail[state.TradeId] = new PendingState(state, reader.GetBoolean(TradeStateRow.Count));
                last = Math.Max(last, state.LastSeq);
            }
        }

        lock (_gate)
        {
            _pending = tail;
            _pendingSeq = last;
            _flushedSeq = checkpoint;
            // The tail is already old: flush it soon.
            _oldestPendingAt = tail.Count > 0 ? _time.GetTimestamp() - ToTicks(_interval) : 0;
            _started = true;
        }

        _duckDbCpu = new LowPriorityThread("duckdb-state", CpuPriority.Background);
        new Thread(Run) { IsBackground = true, Name = "tradestore-state-flush" }.Start();
    }

    /// <summary>
    /// Called by the writer after a commit: the batch's final state of each trade (those <paramref name="created"/> in
    /// it, and those already known), and the batch's last <c>seq</c>. A trade created and changed again before a flush
    /// stays a create.
    /// </summary>
    public void Add(IReadOnlyCollection<Trade> created, IReadOnlyCollection<Trade> changed, long lastSeq)
    {
        lock (_gate)
        {
            var wasEmpty = _pending.Count == 0;
            foreach (var state in created)
            {
                _pending[state.TradeId] = new PendingState(state, Created: true);
            }

            foreach (var state in changed)
            {
                _pending[state.TradeId] = new PendingState(state, _pending.TryGetValue(state.TradeId, out var earlier) && earlier.Created);
            }

            _pendingSeq = lastSeq;
            if (_oldestPendingAt == 0)
            {
                _oldestPendingAt = _time.GetTimestamp();
            }

            if (wasEmpty || _pending.Count >= MaxPending)
            {
                Monitor.Pulse(_gate);
            }
        }
    }

    /// <summary>Stops the thread after a final flush of everything pending; a failed final flush is logged (the view stays exact).</summary>
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

    public void Dispose()
    {
        _duckDbCpu?.Dispose();
        _connection?.Dispose();
    }

    private long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private void Run()
    {
        try
        {
            while (WaitUntilDue())
            {
                TryFlush();
            }

            if (!TryFlush())
            {
                Log.StateFinalFlushFailed(_logger, FlushedSeq);
            }
        }
        catch (Exception ex)
        {
            // By design never rethrown: a dead flusher only lets trade_state lag; reads and the journal stay exact.
            Log.StateFlusherCrashed(_logger, ex);
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    /// <summary>Waits until a flush is due; <see langword="false"/> when stopping.</summary>
    private bool WaitUntilDue()
    {
        lock (_gate)
        {
            while (!_stopping)
            {
                if (_pending.Count == 0)
                {
                    Monitor.Wait(_gate);
                    continue;
                }

                var now = _time.GetTimestamp();
                var due = Math.Max(_pending.Count >= MaxPending ? _retryAt : Math.Max(_oldestPendingAt + ToTicks(_interval), _retryAt), _pacedUntil);
                if (now >= due)
                {
                    return true;
                }

                // The clock's timer pulses the gate when the flush is due (an Add or a stop pulses it sooner).
                var wait = TimeSpan.FromSeconds((double)(due - now) / _time.TimestampFrequency) + TimeSpan.FromMilliseconds(1);
                using (_time.CreateTimer(_ => Pulse(), null, wait, Timeout.InfiniteTimeSpan))
                {
                    Monitor.Wait(_gate);
                }
            }

            return false;
        }
    }

    private void Pulse()
    {
        lock (_gate)
        {
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>Writes everything pending in one transaction; on failure puts it back (newer changes win) and backs off.</summary>
    private bool TryFlush()
    {
        Dictionary<string, PendingState> batch;
        long seq;
        long oldest;
        lock (_gate)
        {
            if (_pending.Count == 0)
            {
                return true;
            }

            batch = _pending;
            seq = _pendingSeq;
            oldest = _oldestPendingAt;
            _pending = _spare ?? new Dictionary<string, PendingState>(StringComparer.Ordinal);
            _spare = null;
            _oldestPendingAt = 0;
        }

        if (!_waitApplied(seq))
        {
            Restore(batch, oldest);
            return false;
        }

        var started = _time.GetTimestamp();
        try
        {
            // Behind the acknowledgement, DuckDB's work gets the CPU after the writer and the HTTP threads; this thread,
            // which sets timers and completes tasks, keeps the normal priority (LowPriorityThread says why).
            _duckDbCpu!.Run(() => Write(batch, seq));
        }
        catch (Exception ex) when (ex is DuckDBException or InvalidOperationException)
        {
            // A commit here can run DuckDB's automatic checkpoint too: its FATAL error stops the engine (and the server).
            _database.WriteHealth.ReportIfInvalidated(ex);
            if (_duckDbCpu!.Run(() => CommittedAnyway(seq)))
            {
                Succeeded(batch, seq, started);
                return true;
            }

            Restore(batch, oldest);
            _metrics.StateFlushFailed();
            Log.StateFlushFailed(_logger, ex, batch.Count, FlushedSeq, seq, _failures);
            return false;
        }

        Succeeded(batch, seq, started);
        return true;
    }

    private void Succeeded(Dictionary<string, PendingState> batch, long seq, long started)
    {
        Interlocked.Exchange(ref _flushedSeq, seq);
        var took = _time.GetTimestamp() - started;
        var rows = batch.Count;
        var reusable = rows <= MaxSpareEntries;
        if (reusable)
        {
            batch.Clear();
        }

        lock (_gate)
        {
            _pacedUntil = _time.GetTimestamp() + Math.Min(took * PacingFactor, ToTicks(MaxPacing));
            _failures = 0;
            _retryAt = 0;
            if (reusable)
            {
                _spare = batch;
            }
        }

        _metrics.StateFlushed(rows, _time.GetElapsedTime(started));
    }

    /// <summary>Whether the checkpoint shows the batch was committed although the call failed (outcome unknown).</summary>
    private bool CommittedAnyway(long seq)
    {
        try
        {
            return TradeStateCheckpoint.Read(_connection!, null) >= seq;
        }
        catch (DuckDBException)
        {
            return false;
        }
    }

    private void Restore(Dictionary<string, PendingState> batch, long oldest)
    {
        lock (_gate)
        {
            foreach (var (tradeId, failed) in batch)
            {
                _pending[tradeId] = _pending.TryGetValue(tradeId, out var newer)
                    ? newer with { Created = newer.Created || failed.Created }
                    : failed;
            }

            // The pending seq already covers the failed batch (it only grows), so the next checkpoint stays honest.
            _oldestPendingAt = _oldestPendingAt == 0 ? oldest : Math.Min(_oldestPendingAt, oldest);
            _failures++;
            var delay = TimeSpan.FromTicks(Math.Min(MaxRetryDelay.Ticks,
                Math.Max(_interval.Ticks, MinRetryDelay.Ticks) * (1L << Math.Min(_failures - 1, 16))));
            _retryAt = _time.GetTimestamp() + ToTicks(delay);
        }
    }

    private void Write(Dictionary<string, PendingState> batch, long seq)
    {
        var connection = _connection!;
        using var transaction = connection.BeginTransaction();
        try
        {
            var changed = 0;
            using (var appender = connection.CreateAppender("trade_state"))
            {
                foreach (var pending in batch.Values)
                {
                    if (pending.Created)
                    {
                        TradeStateRow.Append(appender, pending.State);
                    }
                    else
                    {
                        changed++;
                    }
                }
            }

            if (changed > 0)
            {
                using (var appender = connection.CreateAppender("temp", "main", StagingTable))
                {
                    foreach (var pending in batch.Values)
                    {
                        if (!pending.Created)
                        {
                            TradeStateRow.Append(appender, pending.State);
                        }
                    }
                }

                Execute(UpdateFromStaging, transaction);
                Execute($"DELETE FROM {StagingTable}", transaction);
            }

            TradeStateCheckpoint.Write(connection, transaction, seq);
            transaction.Commit();
        }
        catch
        {
            transaction.TryRollback();
            throw;
        }
    }

    private void Execute(string sql, DuckDBTransaction? transaction = null)
    {
        using var command = _connection!.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>A trade's latest state, and whether it is not in <c>trade_state</c> yet (inserted rather than updated).</summary>
    private readonly record struct PendingState(Trade State, bool Created);
}
