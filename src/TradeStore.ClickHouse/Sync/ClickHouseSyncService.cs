using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TradeStore.ClickHouse.Migrations;
using TradeStore.ClickHouse.Rows;
using TradeStore.Core.Options;
using TradeStore.Storage;
using TradeStore.Storage.Integrity;
using TradeStore.Storage.Journal;
using TradeStore.Storage.Sync;

namespace TradeStore.ClickHouse.Sync;

/// <summary>
/// Streams the journal into ClickHouse (docs/architecture.md, "ClickHouse sync"), reading what the engine published
/// (<see cref="IJournalSource"/>: DuckDB, and in memory what DuckDB does not hold yet). Each batch is one INSERT into <c>trade_state</c>
/// (the latest row per trade) and then one INSERT into <c>trade_events</c>, after which the position advances; its copy
/// in DuckDB follows at most once a second, off the sync's path (<see cref="CheckpointMirror"/>). After any failure,
/// and at start, the daemon resumes from ClickHouse's <c>max(seq)</c>, so an INSERT whose answer was lost is neither
/// skipped nor sent twice, and events ClickHouse lost behind that copy are sent again.
/// </summary>
public sealed class ClickHouseSyncService : BackgroundService
{
    private const string Sink = SyncCheckpoints.ClickHouse;

    /// <summary>While idle the journal is also looked at this often, in case a commit was not signalled.</summary>
    private static readonly TimeSpan IdlePoll = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan StatusWriteInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FinalFlushLimit = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How often the daemon asks ClickHouse whether its <c>max(seq)</c> is still the position, whether busy or idle. Only
    /// failures and starts read it otherwise, so a ClickHouse that lost events while the journal was quiet (a new, empty
    /// server at the same URL, its database dropped, its tables truncated) was not noticed until the next write: readiness
    /// read "0 behind" over an empty ClickHouse meanwhile. Events lost below a later INSERT are not seen this way
    /// (<c>verify --clickhouse</c> lists them).
    /// </summary>
    private static readonly TimeSpan PositionCheckInterval = TimeSpan.FromSeconds(5);

    /// <summary>How often a backing-off daemon probes an unreachable ClickHouse: the sync resumes within about this of its return.</summary>
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(500);

    private readonly ClickHouseClient _client;
    private readonly DuckDbDatabase _database;
    private readonly IJournalSource _journal;
    private readonly SyncCheckpoints _checkpoints;
    private readonly CheckpointMirror _mirror;
    private readonly SyncSignal _signal;
    private readonly ClickHouseSyncState _state;
    private readonly ClickHouseMetrics _metrics;
    private readonly ClickHouseOptions _options;
    private readonly SyncOptions _sync;
    private readonly ClickHouseSchemaMigrator _migrator;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SyncBackoff _backoff;
    private readonly AdaptiveBatchSize _batch;
    private readonly string _statusPath;

    // By design a per-process prefix: after a failure the daemon waits until no INSERT of its own still runs in
    // ClickHouse (system.processes) before it reads max(seq), so a slow INSERT cannot land after that read.
    private readonly string _queryIdPrefix = $"tradestore-sync-{Guid.NewGuid():N}-";

    private long _position;
    private bool _positionKnown;
    private bool _schemaReady;
    private bool _mayHaveRunningInsert;
    private DateTimeOffset _lastFlushAt = DateTimeOffset.MinValue;
    private DateTimeOffset _positionCheckedAt = DateTimeOffset.MinValue;
    private DateTimeOffset _lastStatusWrite = DateTimeOffset.MinValue;

    public ClickHouseSyncService(
        ClickHouseClient client,
        DuckDbDatabase database,
        IJournalSource journal,
        SyncSignal signal,
        ClickHouseSyncState state,
        ClickHouseMetrics metrics,
        IOptions<ClickHouseOptions> options,
        IOptions<StorageOptions> storage,
        TimeProvider timeProvider,
        ILogger<ClickHouseSyncService> logger,
        ClickHouseSchemaMigrator? migrator = null)
    {
        _client = client;
        _database = database;
        _journal = journal;
        _checkpoints = new SyncCheckpoints(database);
        _mirror = new CheckpointMirror(_checkpoints, Sink, timeProvider, (ex, checkpoint) => Log.DuckDbCheckpointFailed(logger, ex, checkpoint));
        _signal = signal;
        _state = state;
        _metrics = metrics;
        _options = options.Value;
        _sync = _options.Sync;
        _migrator = migrator ?? new ClickHouseSchemaMigrator(client, options, storage);
        _time = timeProvider;
        _logger = logger;
        _batch = new AdaptiveBatchSize(_sync.BatchMin, _sync.BatchMax);
        _statusPath = SyncStatusFile.PathFor(database.Path);
        _backoff = new SyncBackoff(_sync.BackoffMin, _sync.BackoffMax);
    }

    /// <summary>Reads where the sync stands from DuckDB (<see cref="StartFromCheckpointMirror"/>) and writes the status file, then starts the daemon.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        Log.SyncStarting(_logger, Core.Security.UrlRedaction.Redact(_options.BaseUri.GetLeftPart(UriPartial.Authority)), _options.Database, _sync.BatchMin, _sync.BatchMax, _sync.FlushInterval.TotalMilliseconds);
        _state.OnStarted(_batch.Size);
        StartFromCheckpointMirror();
        PersistStatus(force: true);
        return base.StartAsync(cancellationToken);
    }

    /// <summary>
    /// Until ClickHouse answers with its own <c>max(seq)</c>, the last seq known to be in ClickHouse is DuckDB's copy of
    /// the checkpoint (written behind ClickHouse's, never ahead): the backlog, its age and the status start from it and
    /// the journal's end. Without this they started from 0 and 0, so after a restart while ClickHouse was away the sync
    /// read 0 events behind (<c>TradeStoreSyncStalled</c> could not fire), and after the next write the whole journal.
    /// Runs before the web server starts, so no scrape sees the zeros.
    /// </summary>
    private void StartFromCheckpointMirror()
    {
        try
        {
            var checkpoint = _checkpoints.Get(Sink);
            var journalLast = _journal.LastSeq();
            var next = journalLast > checkpoint ? _journal.ReadAfter(checkpoint, 1) : [];
            var oldestUnsynced = next.Count > 0 ? next[0].RecordedAt : (DateTimeOffset?)null;
            _signal.Observe(journalLast, oldestUnsynced);
            _signal.MarkSynced(checkpoint, oldestUnsynced);
            _state.OnCheckpointMirrorRead(checkpoint);
            Log.StartingFromCheckpointMirror(_logger, checkpoint, journalLast);
        }
        catch (Exception ex)
        {
            // By design not fatal: the daemon reads the position again once ClickHouse answers; until then the figures are 0.
            Log.CheckpointMirrorUnreadable(_logger, ex);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await WaitForWorkAsync(stoppingToken);
                await SyncWithRetryAsync(stoppingToken);
                PersistStatus(force: false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping. An INSERT cut off by the stop may still be applied by ClickHouse: the final flush must then
            // learn the position from ClickHouse, or it sends that batch a second time.
            if (_mayHaveRunningInsert)
            {
                _positionKnown = false;
            }
        }

        await FinalFlushAsync();
        // Only positions ClickHouse confirmed: the copy in DuckDB must never be ahead of ClickHouse's max(seq).
        _mirror.Flush(_position > 0 ? _position : -1);
        _state.OnStopped();
        PersistStatus(force: true);
        // The last seq known to be in ClickHouse: DuckDB's copy when ClickHouse never answered since the start (_position is then 0).
        Log.SyncStopped(_logger, _state.Snapshot().Checkpoint, _signal.Backlog().Behind);
    }

    /// <summary>
    /// <see cref="SyncOnceAsync"/>, retried forever (ClickHouse is derived state; the journal keeps everything until it is
    /// back) with exponential backoff. While ClickHouse is unreachable the backoff is cut short as soon as a cheap probe
    /// answers: after an 11 s outage the grown backoff (18.9 s) once delayed the sync by 17 s (issue 18).
    /// </summary>
    private async Task SyncWithRetryAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await SyncOnceAsync(stoppingToken);
                return;
            }
            catch (Exception ex) when (!(ex is OperationCanceledException && stoppingToken.IsCancellationRequested))
            {
                var delay = _backoff.Delay(attempt);
                OnFailure(ex, attempt, delay);
                await BackOffAsync(delay, probe: SyncFailures.Kind(ex) is "connection_refused" or "connection_lost" or "timeout", stoppingToken);
            }
        }
    }

    /// <summary>Waits <paramref name="delay"/>; with <paramref name="probe"/>, asks ClickHouse every <see cref="ProbeInterval"/> and stops waiting when it answers.</summary>
    private async Task BackOffAsync(TimeSpan delay, bool probe, CancellationToken stoppingToken)
    {
        var until = _time.GetUtcNow() + delay;
        while (_time.GetUtcNow() < until)
        {
            var remaining = until - _time.GetUtcNow();
            await Task.Delay(probe && remaining > ProbeInterval ? ProbeInterval : remaining, _time, stoppingToken);
            if (probe && _time.GetUtcNow() < until && await AnswersAsync(stoppingToken))
            {
                // The probe itself takes time: when it answered after the wait was over anyway, there is nothing to say.
                var saved = until - _time.GetUtcNow();
                if (saved > TimeSpan.Zero)
                    Log.ClickHouseAnswersAgain(_logger, saved.TotalMilliseconds);
                return;
            }
        }
    }

    /// <summary>The cheap probe: <c>SELECT 1</c>, given at most <see cref="ProbeInterval"/>.</summary>
    private async Task<bool> AnswersAsync(CancellationToken stoppingToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(ProbeInterval);
        try
        {
            await _client.QueryAsync("SELECT 1", timeout.Token);
            return true;
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is HttpRequestException or OperationCanceledException or ClickHouseException or TimeoutException)
        {
            return false;
        }
    }

    /// <summary>One step: resolve the position if unknown, then send at most one batch.</summary>
    private async ValueTask SyncOnceAsync(CancellationToken cancellationToken)
    {
        if (_positionKnown && _time.GetUtcNow() - _positionCheckedAt >= PositionCheckInterval)
        {
            await CheckPositionAsync(cancellationToken);
        }

        if (!_positionKnown)
        {
            await ResolvePositionAsync(cancellationToken);
        }

        var started = Stopwatch.GetTimestamp();
        var events = _journal.ReadAfter(_position, _batch.Size);
        if (events.Count == 0)
        {
            // Idle: DuckDB's copy catches up with the last batches too (it took at most one position a second, and the
            // last ones of a burst waited for the next write, for good while the journal stayed quiet).
            _mirror.Offer(_position);
            MarkHealthy(_position);
            return;
        }

        _lastFlushAt = _time.GetUtcNow();
        var read = Stopwatch.GetTimestamp();
        using var states = new PooledBufferWriter();
        using var rows = new PooledBufferWriter();
        var tradeCount = ClickHouseRows.WriteLatestStates(states, events);
        ClickHouseRows.WriteEvents(rows, events);
        var count = events.Count;
        var firstSeq = events[0].Seq;
        var last = events[^1];
        var recordedAt = ArrayPool<long>.Shared.Rent(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                recordedAt[i] = events[i].RecordedAt.UtcTicks;
            }

            // By design the decoded events are let go before the inserts: a batch of 50,000 is ~24 MB of young objects,
            // and every young GC during the two round trips to ClickHouse promoted all of it (measured while the sinks caught
            // up after a 1,000,000-trade seeding: ~24 MB promoted per gen0 GC, pauses of 20-50 ms every 0.5 s).
            events.Clear();
            await InsertAsync("trade_state", states, firstSeq, cancellationToken);
            var statesSent = Stopwatch.GetTimestamp();
            await InsertAsync("trade_events", rows, firstSeq, cancellationToken);
            var eventsSent = Stopwatch.GetTimestamp();
            var visibleAt = _time.GetUtcNow().UtcTicks;
            _position = last.Seq;
            _mirror.Offer(last.Seq);
            var checkpointed = Stopwatch.GetTimestamp();

            for (var i = 0; i < count; i++)
            {
                _metrics.Lag.Record(Math.Max(0, TimeSpan.FromTicks(visibleAt - recordedAt[i]).TotalSeconds));
            }

            _metrics.Batches.Add(1);
            _metrics.Events.Add(count);
            _metrics.BatchSize.Record(count);
            _signal.Observe(last.Seq, firstRecordedAt: null);
            _signal.MarkSynced(last.Seq, last.RecordedAt);
            _batch.OnSent(count);
            if (_logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
            {
                Log.BatchSent(_logger, firstSeq, last.Seq, count, tradeCount, Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                    Stopwatch.GetElapsedTime(started, read).TotalMilliseconds, Stopwatch.GetElapsedTime(read, statesSent).TotalMilliseconds,
                    Stopwatch.GetElapsedTime(statesSent, eventsSent).TotalMilliseconds, Stopwatch.GetElapsedTime(eventsSent, checkpointed).TotalMilliseconds);
            }
        }
        finally
        {
            ArrayPool<long>.Shared.Return(recordedAt);
        }

        MarkHealthy(last.Seq);
    }

    private async Task InsertAsync(string table, PooledBufferWriter body, long firstSeq, CancellationToken cancellationToken)
    {
        using var content = new SendOnceContent(body.WrittenMemory);
        _mayHaveRunningInsert = true;
        await _client.InsertAsync($"INSERT INTO {table} FORMAT JSONEachRow", content, cancellationToken, _options.Database, $"{_queryIdPrefix}{table}-{firstSeq}");
        _mayHaveRunningInsert = false;
    }

    /// <summary>
    /// Finds where ClickHouse stands: its own <c>max(seq)</c> (events are inserted after their batch's states, so
    /// <c>max(seq)</c> only moves on complete batches). DuckDB's copy of the checkpoint trails it by up to a second and is
    /// moved forward to it; a copy ahead of it means ClickHouse lost events, which are sent again (<see cref="RefillFrom"/>).
    /// </summary>
    private async Task ResolvePositionAsync(CancellationToken cancellationToken, bool migrate = true)
    {
        if (migrate && !_schemaReady && _migrator.AutoMigrate)
        {
            foreach (var step in await _migrator.EnsureCurrentAsync(cancellationToken))
            {
                if (step.Note is { } note)
                {
                    Log.SchemaNote(_logger, _options.Database, note);
                }
            }

            _schemaReady = true;
            Log.SchemaReady(_logger, _options.Database);
        }

        if (_mayHaveRunningInsert)
        {
            await WaitForRunningInsertsAsync(cancellationToken);
        }

        var rows = await _client.QueryRowsAsync("SELECT max(seq) AS max_seq FROM trade_events", cancellationToken, _options.Database);
        var clickHouseMax = rows.Count == 0 ? 0 : ClickHouseJson.Int64(rows[0], "max_seq");
        var checkpoint = _checkpoints.Get(Sink);
        var journalLast = _journal.LastSeq();
        if (clickHouseMax > journalLast)
        {
            // New writes would take seqs ClickHouse holds for other trades (issue 18): refuse them until recovered.
            _database.WriteHealth.RefuseWrites(new JournalBehindSinksException(journalLast, [new SinkPosition("clickhouse", clickHouseMax)]).Message);
            throw new SyncConflictException(
                $"ClickHouse {_options.Database}.trade_events holds events up to seq {clickHouseMax}, but this journal ends at seq {journalLast}: " +
                "the ClickHouse database was filled from another TradeStore database (or this one lost events). Sync is paused: point " +
                "ClickHouse:Database at this store's own database, or rebuild this database with `tradestore recover --from clickhouse`.");
        }

        if (clickHouseMax > checkpoint)
        {
            Log.CheckpointBehindClickHouse(_logger, clickHouseMax, checkpoint);
            // Through the mirror, the row's one writer: a background write of an older position cannot land after this one.
            _mirror.Set(clickHouseMax);
        }
        else if (clickHouseMax < checkpoint)
        {
            RefillFrom(clickHouseMax, checkpoint, journalLast);
        }

        // ClickHouse's own max(seq), never the copy: past it nothing is in ClickHouse, up to it everything is (see RefillFrom).
        _position = clickHouseMax;
        _positionKnown = true;
        _positionCheckedAt = _time.GetUtcNow();
        _state.OnPositionResolved(_position, clickHouseMax);
        var next = journalLast > _position ? _journal.ReadAfter(_position, 1) : [];
        _signal.Observe(journalLast, next.Count > 0 ? next[0].RecordedAt : null);
        _signal.MarkSynced(_position, next.Count > 0 ? next[0].RecordedAt : null);
        Log.PositionResolved(_logger, _position, checkpoint, clickHouseMax, journalLast);
    }

    /// <summary>
    /// Every <see cref="PositionCheckInterval"/>: whether ClickHouse's <c>max(seq)</c> is still the position. No INSERT of
    /// this daemon runs here (each is awaited), so any difference was made by someone else: ClickHouse lost events (a new
    /// empty server at the same URL, a dropped database, a truncated table) or another writer added some. The position
    /// is then resolved again, which refills what was lost (event 4011) or moves forward (4010). A missing table fails
    /// the check as it fails a batch, and the schema is created again (<see cref="OnFailure"/>).
    /// </summary>
    private async Task CheckPositionAsync(CancellationToken cancellationToken)
    {
        var rows = await _client.QueryRowsAsync("SELECT max(seq) AS max_seq FROM trade_events", cancellationToken, _options.Database);
        var clickHouseMax = rows.Count == 0 ? 0 : ClickHouseJson.Int64(rows[0], "max_seq");
        _positionCheckedAt = _time.GetUtcNow();
        if (clickHouseMax != _position)
        {
            Log.PositionChangedInClickHouse(_logger, clickHouseMax, _position);
            _positionKnown = false;
        }
    }

    /// <summary>
    /// ClickHouse holds less than DuckDB's copy of the checkpoint says, which is never written ahead of what ClickHouse
    /// confirmed: ClickHouse lost events (its tables were dropped and recreated, or it is a new, empty server at the same
    /// URL). Resuming after the copy, as before, left every event up to it missing for good while the status read
    /// "0 behind" (exploratory report 17, defect 4). The sync resumes from ClickHouse's <c>max(seq)</c> instead, so the
    /// journal sends each missing event once (events after <c>max(seq)</c> are not in ClickHouse, events up to it are), and
    /// the copy moves back with it, through the mirror, its one writer, so <c>sync status</c> read while the daemon is
    /// down does not claim the lost events either.
    /// </summary>
    private void RefillFrom(long clickHouseMax, long checkpoint, long journalLast)
    {
        Log.RefillingClickHouse(_logger, clickHouseMax, checkpoint, clickHouseMax + 1, Math.Max(0, journalLast - clickHouseMax), journalLast);
        _mirror.Set(clickHouseMax);
    }

    /// <summary>An INSERT whose answer was lost may still be running in ClickHouse; reading max(seq) before it ends could send its rows twice.</summary>
    private async Task WaitForRunningInsertsAsync(CancellationToken cancellationToken)
    {
        var deadline = _time.GetUtcNow() + _options.Timeout;
        var logged = false;
        while (true)
        {
            var rows = await _client.QueryRowsAsync(
                $"SELECT count() AS running FROM system.processes WHERE query_id LIKE '{_queryIdPrefix}%'", cancellationToken);
            if (rows.Count == 0 || ClickHouseJson.Int64(rows[0], "running") == 0)
            {
                _mayHaveRunningInsert = false;
                return;
            }

            if (_time.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"An INSERT sent to ClickHouse more than {_options.Timeout.TotalSeconds:0.#} s ago is still running; waiting for it to finish before resuming.");
            }

            if (!logged)
            {
                Log.WaitingForInsert(_logger);
                logged = true;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), _time, cancellationToken);
        }
    }

    /// <summary>
    /// Waits until there is something to send: at once when a full batch is waiting, otherwise when
    /// <see cref="SyncOptions.FlushInterval"/> has passed since the last INSERT, so small commits coalesce.
    /// </summary>
    private async Task WaitForWorkAsync(CancellationToken cancellationToken)
    {
        while (_positionKnown)
        {
            var wake = _signal.NextCommit; // taken before the check: a commit after it completes this task
            var pending = _signal.LastCommittedSeq - _position;
            if (pending >= _batch.Size)
            {
                return;
            }

            TimeSpan wait;
            if (pending > 0)
            {
                wait = _lastFlushAt + _sync.FlushInterval - _time.GetUtcNow();
                if (wait <= TimeSpan.Zero)
                {
                    return;
                }
            }
            else
            {
                wait = IdlePoll;
            }

            var signalled = await WaitAsync(wake, wait, cancellationToken);
            if (!signalled && pending == 0)
            {
                return; // idle poll: read the journal in case a commit was not signalled
            }
        }
    }

    private async Task<bool> WaitAsync(Task wake, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(timeout, _time, cts.Token);
        var first = await Task.WhenAny(wake, delay);
        await cts.CancelAsync();
        cancellationToken.ThrowIfCancellationRequested();
        return first == wake;
    }

    private void OnFailure(Exception exception, int attempt, TimeSpan retryDelay)
    {
        _positionKnown = false;
        _batch.OnFailure();
        var kind = SyncFailures.Kind(exception);
        if (kind == "missing_table")
        {
            // The tables went away under a running sync (a dropped database, a new empty server at the same URL): with
            // Storage:AutoMigrate the next attempt creates them again and refills them, instead of failing until a restart.
            _schemaReady = false;
            _migrator.Forget();
        }

        var message = SyncFailures.Describe(exception, _options.BaseUri, _options.Database);
        _metrics.Failed(kind);
        _metrics.Retries.Add(1);
        _state.OnFailure(kind, message, retryDelay, _batch.Size);
        Log.SyncFailed(_logger, kind, attempt + 1, retryDelay.TotalMilliseconds, _batch.Size, message);
        PersistStatus(force: true);
    }

    private void MarkHealthy(long position)
    {
        var failures = _state.Snapshot().ConsecutiveFailures;
        if (_state.OnSynced(position, _batch.Size) is { } lasted)
        {
            Log.SyncRecovered(_logger, failures, lasted, position);
            PersistStatus(force: true);
        }
    }

    /// <summary>At shutdown, sends what the journal still holds as far as ClickHouse answers within a few seconds, without retrying.</summary>
    private async Task FinalFlushAsync()
    {
        if (_positionKnown && _signal.LastCommittedSeq <= _position)
        {
            return;
        }

        using var cts = new CancellationTokenSource(FinalFlushLimit, _time);
        try
        {
            if (!_positionKnown)
            {
                await ResolvePositionAsync(cts.Token, migrate: false); // no schema work at shutdown: without tables there is nothing to flush into
            }

            while (_signal.LastCommittedSeq > _position && !cts.IsCancellationRequested)
            {
                var before = _position;
                await SyncOnceAsync(cts.Token);
                if (_position == before)
                {
                    break;
                }
            }
        }
        catch (Exception ex)
        {
            // By design the shutdown does not wait for ClickHouse twice: the journal keeps the events for the next start.
            _positionKnown = false;
            Log.FinalFlushFailed(_logger, _signal.Backlog().Behind, ex.Message);
        }
    }

    private void PersistStatus(bool force)
    {
        var now = _time.GetUtcNow();
        if (!force && now - _lastStatusWrite < StatusWriteInterval)
        {
            return;
        }

        _lastStatusWrite = now;
        try
        {
            SyncStatusFile.Write(_statusPath, _state.Snapshot());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.StatusFileFailed(_logger, _statusPath, ex.Message);
        }
    }
}
