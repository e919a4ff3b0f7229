using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using StackExchange.Redis;
using TradeStore.Core.Diagnostics;
using TradeStore.Core.Options;
using TradeStore.Core.Threading;
using TradeStore.Core.Trades;
using TradeStore.Storage;
using TradeStore.Storage.Integrity;
using TradeStore.Storage.Journal;
using TradeStore.Storage.Sync;

namespace TradeStore.Redis.Projection;

/// <summary>A moment's view of the projection, for readiness and <c>sync status</c>-style reports.</summary>
/// <param name="FromDuckDbCopy">
/// <paramref name="Checkpoint"/> is DuckDB's copy of Redis's checkpoint (written at most a second behind it): Redis has
/// not answered since the projection started.
/// </param>
public sealed record RedisProjectionStatus(long Checkpoint, long JournalSeq, TimeSpan Lag, string? LastError, DateTimeOffset? LastErrorAt, bool Paused, bool FromDuckDbCopy = false)
{
    /// <summary>Journal events not yet in Redis.</summary>
    public long LagEvents => Checkpoint < 0 ? JournalSeq : Math.Max(0, JournalSeq - Checkpoint);
}

/// <summary>
/// Keeps Redis equal to the journal. The engine hands it each batch as it is published, durable in the journal log
/// (<see cref="ICommitObserver"/>): the events are only queued (bounded) and the projector woken. The projector
/// applies, from Redis's own checkpoint, the queued events when they follow the checkpoint without a gap, and
/// otherwise reads the journal as published (<see cref="IJournalSource"/>; start-up,
/// after a Redis outage, a rebuild, a full queue): one code path that can neither gap nor reorder. Each batch is one
/// atomic script (<see cref="ProjectionWriter"/>). Failures retry forever with exponential backoff and jitter
/// (Polly); writes never wait for Redis. At shutdown it stops after the engine has drained (the coordinator's
/// <see cref="TradeStore.Core.Lifetime.ShutdownStage.FlushSinks"/>), so its final flush holds every committed event.
/// </summary>
public sealed class RedisProjector : BackgroundService, ICommitObserver
{
    private static readonly TimeSpan IdleCheck = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FinalFlushTimeout = TimeSpan.FromSeconds(2);

    /// <summary>How long a failed final flush asks the network why Redis did not answer.</summary>
    private static readonly TimeSpan ReasonTimeout = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// By design the queue of committed events is bounded: while Redis is away it stops taking events (the journal
    /// has them) instead of growing without limit. Measured: reading every batch back from DuckDB instead of using
    /// these events put projection delay well above the 100 ms p99 target at 10,000 trades/s on 2 cores.
    /// </summary>
    private const int MaxQueuedEvents = 200_000;

    /// <summary>
    /// Scripts in flight at once. Building a batch takes 7 % of its time and the script's round trip 93 %, so with one in
    /// flight the projector and Redis took turns at ~27,000 events/s. A burst of 1,000,000 at 50,000/s reached Redis
    /// 16.8-18.4 s after its end with one in flight, 12.3-14.0 s with two, 9.4-11.2 s with three and 9.9-11.1 s with
    /// four (docs/benchmarks/2026-12-01-session9.md). The checkpoint and position compare-and-set make a script sent
    /// behind one that did not apply write nothing.
    /// </summary>
    private const int PipelineDepth = 3;

    private readonly RedisConnection _connection;
    private readonly DuckDbDatabase _database;
    private readonly IJournalSource _journal;
    private readonly CheckpointMirror _mirror;
    private readonly ProjectionWriter _writer;
    private readonly RedisOptions _options;
    private readonly ILogger<RedisProjector> _logger;
    private readonly RedisMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _retry;
    private readonly ConcurrentQueue<IReadOnlyList<TradeEvent>> _committed = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    private long _journalSeq;
    private int _queuedEvents;
    private int _running;
    private long _checkpoint = -1;
    private long _knownCheckpoint = -1;
    private bool _knownFromDuckDbCopy;
    private long _pausedAt = -1;
    private long _oldestPendingTicks;
    private string? _lastError;
    private long _lastErrorTicks;
    private bool _countCatchUp = true;

    /// <summary>
    /// Event 3000 was logged and 3001 not yet: by design once per catch-up, however many attempts it takes. It was logged
    /// again before every retry, so a Redis refusing writes (OOM) added an info line to each warning, every 5 s.
    /// </summary>
    private bool _catchUpAnnounced;

    /// <summary>
    /// Paces event 3002 while Redis is away: the first failure with its stack, then the 2nd, 4th, 8th, … and one a minute
    /// (each line names its attempt); event 3011 when an apply succeeds again. Until 2026-12-05 each retry was a line
    /// (every 5 to 10 s, about 600 bytes each, for as long as Redis was away).
    /// </summary>
    private readonly RepeatPacer _failures;

    public RedisProjector(RedisConnection connection, DuckDbDatabase database, IJournalSource journal, IOptions<RedisOptions> options, RedisMetrics metrics, ILogger<RedisProjector> logger, TimeProvider? timeProvider = null)
    {
        _metrics = metrics;
        _connection = connection;
        _database = database;
        _journal = journal;
        _options = options.Value;
        _writer = new ProjectionWriter(new RedisKeys(_options.KeyPrefix), _options.StreamMaxLength);
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
        _failures = new RepeatPacer(_time);
        _mirror = new CheckpointMirror(new SyncCheckpoints(database), SyncCheckpoints.Redis, _time, (ex, checkpoint) => Log.DuckDbCheckpointFailed(logger, ex, checkpoint));
        _retry = new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryBaseDelay,
                MaxDelay = _options.RetryMaxDelay,
                OnRetry = args =>
                {
                    var exception = args.Outcome.Exception!;
                    if (_failures.Record() is { Log: true } failure)
                    {
                        Log.ApplyFailed(_logger, failure.First ? exception : null, Volatile.Read(ref _knownCheckpoint), args.AttemptNumber + 1,
                            args.RetryDelay, FirstLine(exception.Message));
                    }

                    return default;
                },
            })
            .Build();
    }

    public RedisKeys Keys => _writer.Keys;

    /// <summary>A failure's reason for a log line: its message's first line, at most 300 characters.</summary>
    internal static string FirstLine(string message)
    {
        var line = message.AsSpan();
        if (line.IndexOfAny('\r', '\n') is >= 0 and var end)
        {
            line = line[..end];
        }

        return line.Length <= 300 ? line.ToString() : string.Concat(line[..300], "…");
    }

    /// <summary>
    /// Whether the projection runs in this process now: from its start to the end of its final flush. On a cluster it
    /// runs only while the node leads; a follower (or a standalone node before its start) neither projects nor keeps
    /// the commits it is told of, and readiness does not hold its position against it.
    /// </summary>
    public bool IsRunning => Volatile.Read(ref _running) == 1;

    /// <summary>Committed events queued in memory for the projection (at most 200,000; none while it does not run).</summary>
    public int QueuedEvents => Volatile.Read(ref _queuedEvents);

    public RedisProjectionStatus Status
    {
        get
        {
            var checkpoint = Volatile.Read(ref _knownCheckpoint);
            var journal = Volatile.Read(ref _journalSeq);
            var oldest = Volatile.Read(ref _oldestPendingTicks);
            var lag = checkpoint >= 0 && checkpoint >= journal ? TimeSpan.Zero
                : oldest == 0 ? TimeSpan.Zero
                : _time.GetUtcNow() - new DateTimeOffset(oldest, TimeSpan.Zero);
            var errorTicks = Volatile.Read(ref _lastErrorTicks);
            return new RedisProjectionStatus(checkpoint, journal, lag < TimeSpan.Zero ? TimeSpan.Zero : lag, Volatile.Read(ref _lastError),
                errorTicks == 0 ? null : new DateTimeOffset(errorTicks, TimeSpan.Zero), Volatile.Read(ref _pausedAt) >= 0, Volatile.Read(ref _knownFromDuckDbCopy));
        }
    }

    /// <summary>Called on the writer's thread after each commit: notes the newest seq and wakes the projector. Never blocks.</summary>
    public void OnCommitted(IReadOnlyList<TradeEvent> events)
    {
        // By design nothing is queued while the projection does not run (a cluster follower): nobody would take the events
        // off the queue, which then held up to MaxQueuedEvents of them for as long as the node followed (a soak: 200,000
        // events on every follower). A projection that starts reads what it lacks from the journal.
        if (events.Count > 0 && IsRunning)
        {
            RaiseJournalSeq(events[^1].Seq);

            if (Volatile.Read(ref _oldestPendingTicks) == 0)
            {
                Interlocked.CompareExchange(ref _oldestPendingTicks, events[0].RecordedAt.UtcTicks, 0);
            }

            if (Volatile.Read(ref _queuedEvents) + events.Count <= MaxQueuedEvents)
            {
                Interlocked.Add(ref _queuedEvents, events.Count);
                _committed.Enqueue(events);
            }
        }

        _wake.Writer.TryWrite(true);
    }

    /// <summary>Asks the projector to re-read its checkpoint from Redis and catch up (after a rebuild, for example).</summary>
    public void Resync()
    {
        Volatile.Write(ref _checkpoint, -1);
        _wake.Writer.TryWrite(true);
    }

    /// <summary>Reads where the projection stands from DuckDB's copy (<see cref="StartFromCheckpointMirror"/>), then starts the projector.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        StartFromCheckpointMirror();
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Before the first await: running from the moment StartAsync returns, so no commit after it goes unqueued.
        Volatile.Write(ref _running, 1);
        await Task.Yield();
        _metrics.Started(this);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await _retry.ExecuteAsync(async token => await CatchUpAsync(token), stoppingToken);
                await WaitForWorkAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        finally
        {
            await FinalFlushAsync();
            _metrics.Stopped(this);
            Volatile.Write(ref _running, 0);
            DropQueued();
        }
    }

    /// <summary>
    /// Until Redis answers with its own checkpoint, the last seq known to be in Redis is DuckDB's copy of it: the lag
    /// starts from it and the journal's end. Without it a projector started while Redis was away (stopped, or refusing
    /// the password) reported 0 events behind until the next write, then the whole journal (108,211 events behind where
    /// 10 were missing, seen in the sink audit). Runs in StartAsync, so before the web server starts.
    /// </summary>
    private void StartFromCheckpointMirror()
    {
        try
        {
            var copy = new SyncCheckpoints(_database).Get(SyncCheckpoints.Redis);
            var journalLast = _journal.LastSeq();
            RaiseJournalSeq(journalLast);
            if (journalLast > copy && _journal.ReadAfter(copy, 1) is [var next, ..])
            {
                Interlocked.CompareExchange(ref _oldestPendingTicks, next.RecordedAt.UtcTicks, 0);
            }

            if (Interlocked.CompareExchange(ref _knownCheckpoint, copy, -1) == -1)
            {
                Volatile.Write(ref _knownFromDuckDbCopy, true);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // By design not fatal: the figures start from Redis's own checkpoint once it answers, as before.
            Log.CheckpointMirrorUnreadable(_logger, ex);
        }
    }

    /// <summary>Empties the queue of committed events once the projection stopped (a leader that steps down keeps none).</summary>
    private void DropQueued()
    {
        while (_committed.TryDequeue(out var events))
        {
            Interlocked.Add(ref _queuedEvents, -events.Count);
        }

        Volatile.Write(ref _oldestPendingTicks, 0);
    }

    private async Task FinalFlushAsync()
    {
        using var timeout = new CancellationTokenSource(FinalFlushTimeout, _time);
        // Re-read the checkpoint: a rebuild may have reset it since the last batch.
        Volatile.Write(ref _checkpoint, -1);
        try
        {
            // WaitAsync bounds it even when a Redis command waits out its own (longer) timeout.
            await CatchUpAsync(timeout.Token).WaitAsync(timeout.Token);
        }
        catch (Exception ex)
        {
            // While disconnected StackExchange.Redis only queues and times out; the socket says why (Connection refused).
            var reason = await _connection.UnreachableReasonAsync(ReasonTimeout, CancellationToken.None)
                ?? (ex is OperationCanceledException && timeout.IsCancellationRequested ? $"no answer within {FinalFlushTimeout.TotalSeconds:0} s" : ex.Message);
            Log.FinalFlushFailed(_logger, $"Redis at {_connection.Endpoint}: {reason}");
        }

        _mirror.Flush(Volatile.Read(ref _checkpoint));

        // -1 or DuckDB's copy: Redis never answered since the start, so its checkpoint is not known (not "seq -1").
        if (Volatile.Read(ref _knownCheckpoint) is >= 0 and var known && !Volatile.Read(ref _knownFromDuckDbCopy))
        {
            Log.Stopped(_logger, known, Volatile.Read(ref _journalSeq));
        }
        else
        {
            Log.StoppedUnreached(_logger, Volatile.Read(ref _journalSeq));
        }
    }

    private async Task WaitForWorkAsync(CancellationToken stoppingToken)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        idle.CancelAfter(IdleCheck);
        try
        {
            await _wake.Reader.ReadAsync(idle.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            // By design an idle projector re-reads Redis's checkpoint every second: a FLUSHALL or a rebuild by
            // another process shows up without waiting for the next trade.
            Volatile.Write(ref _checkpoint, -1);
        }
    }

    /// <summary>Applies everything the journal has beyond Redis's checkpoint, batch by batch.</summary>
    private async Task CatchUpAsync(CancellationToken cancellationToken)
    {
        try
        {
            var redis = await _connection.GetDatabaseAsync().WaitAsync(cancellationToken);
            if (Volatile.Read(ref _checkpoint) < 0)
            {
                if (!await ReadCheckpointAsync(redis))
                {
                    return;
                }

                // Whenever the checkpoint is (re-)read, so is the journal's end: events committed before this projector
                // was told of commits (start-up) count as missing.
                RaiseJournalSeq(_journal.LastSeq());
            }

            var pipeline = new Queue<(PreparedBatch Batch, Task<RedisResult> Answer)>(PipelineDepth);
            try
            {
                var sentThrough = Volatile.Read(ref _checkpoint);
                while (true)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    // Keep up to PipelineDepth scripts in flight, each built as if the ones before it applied.
                    while (pipeline.Count < PipelineDepth)
                    {
                        var events = NextBatch(sentThrough);
                        if (events.Count == 0)
                        {
                            break;
                        }

                        if (pipeline.Count == 0)
                        {
                            Volatile.Write(ref _oldestPendingTicks, events[0].RecordedAt.UtcTicks);
                        }

                        RaiseJournalSeq(events[^1].Seq);
                        if (!_catchUpAnnounced && events.Count == _options.MaxBatchSize)
                        {
                            Log.CatchingUp(_logger, sentThrough, Volatile.Read(ref _journalSeq), _connection.Endpoint);
                            _catchUpAnnounced = true;
                        }

                        var batch = await _writer.PrepareAsync(redis, events, sentThrough, [.. pipeline.Select(p => p.Batch)]);
                        pipeline.Enqueue((batch, _writer.SendAsync(redis, batch)));
                        sentThrough = batch.LastSeq;
                    }

                    if (pipeline.Count == 0)
                    {
                        Volatile.Write(ref _oldestPendingTicks, 0);
                        break;
                    }

                    var (sent, answer) = pipeline.Peek();
                    var result = _writer.Complete(sent, await answer);
                    pipeline.Dequeue();
                    Record(sent, result);
                    if (pipeline.TryPeek(out var next))
                    {
                        Volatile.Write(ref _oldestPendingTicks, next.Batch.Events[0].RecordedAt.UtcTicks);
                    }

                    if (result.Outcome != ApplyOutcome.Applied)
                    {
                        // The scripts behind it were built on it: they find the checkpoint or the sums changed and
                        // write nothing, unless Redis already stood where they follow. Their answers tell where it stands.
                        while (pipeline.TryDequeue(out var behind))
                        {
                            result = _writer.Complete(behind.Batch, await behind.Answer);
                            Record(behind.Batch, result);
                        }

                        if (result.Outcome is ApplyOutcome.AlreadyApplied or ApplyOutcome.CheckpointMoved && result.Checkpoint > _journal.LastSeq())
                        {
                            Volatile.Write(ref _checkpoint, -1);
                            return;
                        }

                        sentThrough = Volatile.Read(ref _checkpoint);
                    }
                }
            }
            catch when (pipeline.Count > 0)
            {
                // Whether the scripts still in flight ran is unknown; the checkpoint is re-read (below) before anything else.
                // Not awaited: the re-read goes out on the same connection behind them, so it sees what they did.
                _writer.Abandon();
                foreach (var (_, answer) in pipeline)
                {
                    _ = answer.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                }

                throw;
            }

            Volatile.Write(ref _lastError, null);
            if (_failures.End() is { } outage)
            {
                Log.ReachesRedisAgain(_logger, outage.Count, outage.Lasted, Volatile.Read(ref _checkpoint));
            }

            if (_catchUpAnnounced)
            {
                Log.CaughtUp(_logger, Volatile.Read(ref _checkpoint));
                _catchUpAnnounced = false;
            }

            _mirror.Offer(Volatile.Read(ref _checkpoint));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _metrics.Failures.Add(1);
            Volatile.Write(ref _lastError, RedisErrorText.Brief(ex));
            Volatile.Write(ref _lastErrorTicks, _time.GetUtcNow().UtcTicks);
            // By design the checkpoint is re-read after any failure: whether the last script ran is unknown.
            Volatile.Write(ref _checkpoint, -1);
            _countCatchUp = true;
            throw;
        }
    }

    /// <summary>Counts what one answered script did and moves the checkpoint to where Redis says it stands.</summary>
    private void Record(PreparedBatch batch, ApplyResult result)
    {
        switch (result.Outcome)
        {
            case ApplyOutcome.Applied:
                var now = _time.GetUtcNow();
                foreach (var e in batch.Events)
                {
                    _metrics.Delay.Record((now - e.RecordedAt).TotalSeconds);
                }

                _metrics.Batches.Add(1);
                _metrics.Events.Add(batch.Events.Count);
                break;
            case ApplyOutcome.CheckpointMoved:
                Log.CheckpointMoved(_logger, batch.ExpectedCheckpoint, result.Checkpoint);
                break;
        }

        // Every answer carries Redis's checkpoint after the script (for PositionsMoved, the one the batch followed).
        SetCheckpoint(result.Checkpoint);
    }

    /// <summary>
    /// The events that follow <paramref name="checkpoint"/>: from the queue of committed batches when its head
    /// continues the checkpoint, otherwise from the journal up to the queue's head (or a full batch).
    /// </summary>
    private List<TradeEvent> NextBatch(long checkpoint)
    {
        while (_committed.TryPeek(out var stale) && stale[^1].Seq <= checkpoint)
        {
            Dequeue();
        }

        if (!_committed.TryPeek(out var head))
        {
            // By design no journal query when nothing is known to be missing: every commit raises _journalSeq before its
            // events are queued, and so does every checkpoint read, so an empty queue with the checkpoint at _journalSeq
            // means Redis is current. Asking the journal here anyway cost one DuckDB query per commit (2.5% of the
            // server's samples at 1,000 single POSTs/s).
            return checkpoint >= Volatile.Read(ref _journalSeq) ? [] : _journal.ReadAfter(checkpoint, _options.MaxBatchSize);
        }

        if (head[0].Seq > checkpoint + 1)
        {
            return _journal.ReadAfter(checkpoint, (int)Math.Min(_options.MaxBatchSize, head[0].Seq - checkpoint - 1));
        }

        var batch = new List<TradeEvent>(Math.Min(_options.MaxBatchSize, 4096));
        var next = checkpoint + 1;
        while (_committed.TryPeek(out head) && head[0].Seq <= next && (batch.Count == 0 || batch.Count + head.Count <= _options.MaxBatchSize))
        {
            foreach (var e in head)
            {
                if (e.Seq == next)
                {
                    batch.Add(e);
                    next++;
                }
            }

            Dequeue();
        }

        return batch;
    }

    private void Dequeue()
    {
        if (_committed.TryDequeue(out var events))
        {
            Interlocked.Add(ref _queuedEvents, -events.Count);
        }
    }

    /// <summary>Reads Redis's checkpoint; false (projection paused) when Redis is ahead of the journal.</summary>
    private async Task<bool> ReadCheckpointAsync(IDatabase redis)
    {
        var value = await redis.StringGetAsync(_writer.Keys.Checkpoint);
        var checkpoint = value.IsNull ? 0 : long.Parse((string)value!, CultureInfo.InvariantCulture);
        if (_countCatchUp || checkpoint != _mirror.Recorded)
        {
            _metrics.CatchUps.Add(1);
            _countCatchUp = false;
        }
        var journalLast = _journal.LastSeq();
        RaiseJournalSeq(journalLast);
        var pausedAt = Volatile.Read(ref _pausedAt);
        if (checkpoint > journalLast || (pausedAt >= 0 && pausedAt == checkpoint && !await AgreesWithJournalAsync(redis, checkpoint)))
        {
            // Redis holds events the journal lacks (a DuckDB restored from an older copy): applying new journal
            // events would mix two histories. Wait for recover or rebuild to move the checkpoint.
            if (pausedAt != checkpoint)
            {
                Log.AheadOfJournal(_logger, checkpoint, journalLast);
            }

            if (checkpoint > journalLast)
            {
                // New writes would take seqs Redis holds for other trades (issue 18): refuse them until recovered. By design
                // before the pause is reported: whoever sees the projector paused finds writes already refused (a test
                // that wrote the moment it saw the pause once got its write through on a slow machine).
                _database.WriteHealth.RefuseWrites(new JournalBehindSinksException(journalLast, [new SinkPosition("redis", checkpoint)]).Message);
            }

            Volatile.Write(ref _pausedAt, checkpoint);
            Volatile.Write(ref _knownCheckpoint, checkpoint);
            Volatile.Write(ref _knownFromDuckDbCopy, false);
            Volatile.Write(ref _lastError, $"Redis checkpoint {checkpoint} is ahead of the journal ({journalLast}); run 'tradestore recover --from redis' or 'tradestore redis rebuild'");
            Volatile.Write(ref _lastErrorTicks, _time.GetUtcNow().UtcTicks);
            return false;
        }

        Volatile.Write(ref _pausedAt, -1);
        if (Volatile.Read(ref _knownCheckpoint) is var known && checkpoint < known)
        {
            // Redis lost what it held: said as a warning, as the ClickHouse sync says its refill (4011); it was an
            // info line "catching up from seq 0", the same as after any outage.
            Log.RedisLostEvents(_logger, checkpoint, known, Volatile.Read(ref _knownFromDuckDbCopy) ? "DuckDB's copy of it" : "last read from Redis",
                Math.Max(0, journalLast - checkpoint), checkpoint + 1, _connection.Endpoint);
        }

        SetCheckpoint(checkpoint);
        return true;
    }

    /// <summary>
    /// After a pause: whether the journal, having caught up with Redis's checkpoint, holds the same event there as
    /// the stream (recovered from it) rather than a different history written meanwhile.
    /// </summary>
    private async Task<bool> AgreesWithJournalAsync(IDatabase redis, long checkpoint)
    {
        if (checkpoint == 0)
        {
            return true;
        }

        var entries = await redis.StreamRangeAsync(_writer.Keys.Stream, RedisFormat.StreamId(checkpoint), RedisFormat.StreamId(checkpoint), 1);
        var row = _journal.ReadAfter(checkpoint - 1, 1);
        if (entries.Length == 0 || row.Count == 0 || row[0].Seq != checkpoint)
        {
            return false;
        }

        var entry = RedisFormat.ParseEvent(RedisFormat.ToDictionary(entries[0].Values));
        return entry.TradeId == row[0].TradeId && entry.Version == row[0].Version && entry.Type == row[0].Type;
    }

    /// <summary>
    /// Sets the checkpoint the projector works from, and the last one known for reports. By design reports never read
    /// <c>_checkpoint</c>: it is -1 ("re-read it") after every idle second and every failure, so readiness and failure
    /// logs said "seq -1" on a caught-up server (issue 18).
    /// </summary>
    private void SetCheckpoint(long checkpoint)
    {
        Volatile.Write(ref _checkpoint, checkpoint);
        Volatile.Write(ref _knownCheckpoint, checkpoint);
        Volatile.Write(ref _knownFromDuckDbCopy, false);
    }

    /// <summary>Raised from the publisher's thread (commits) and the projector's (journal reads) alike: never lowered.</summary>
    private void RaiseJournalSeq(long seq) => InterlockedMax.Raise(ref _journalSeq, seq);

    public override void Dispose()
    {
        _metrics.Stopped(this);
        base.Dispose();
    }
}
