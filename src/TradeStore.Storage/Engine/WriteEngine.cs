using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TradeStore.Core.Options;
using TradeStore.Core.Threading;
using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Journal;

namespace TradeStore.Storage.Engine;

/// <summary>
/// The single writer of TradeStore (docs/architecture.md, "Write path"): a bounded command queue drained by one task in batches.
/// Each batch is decided against the state index (later commands see earlier ones) and its events appended to the
/// <see cref="JournalLog"/> with one write and one fsync (the group commit; issue #12). Only after that are the index
/// updated, the callers answered and the final states handed to the <see cref="TradeStateFlusher"/>. The
/// <see cref="JournalApplier"/> then writes the events into DuckDB's <c>trade_events</c> in large transactions and
/// tells the observers (Redis, ClickHouse), so they never publish an event DuckDB lacks. At <see cref="Start"/> the log
/// records DuckDB lacks are replayed into it first (<see cref="JournalLogReplay"/>).
/// </summary>
public sealed class WriteEngine : ITradeCommands, IAsyncDisposable
{
    private const int Created = 0;
    private const int Running = 1;
    private const int Stopping = 2;
    private const int Stopped = 3;

    private readonly DuckDbDatabase _database;
    private readonly StateIndex _index;
    private readonly EngineOptions _options;
    private readonly ICommitObserver[] _observers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<Pending> _queue;
    private readonly EngineMetrics _metrics;
    private readonly JournalReader _journal;
    private readonly object _lifecycle = new();
    private readonly ManualResetEventSlim _wakeUp = new(false);

    /// <summary>Held by whoever commits a batch: the writer thread, or a submitter committing inline.</summary>
    private readonly Lock _writeLock = new();

    /// <summary>The batch list of inline commits (used only under <see cref="_writeLock"/>).</summary>
    private readonly List<Pending> _inlineBatch = [];

    /// <summary>A batch's working maps (used only under <see cref="_writeLock"/>).</summary>
    private readonly BatchScratch _scratch = new();

    /// <summary>The log payloads of each group, encoded into shared chunks (used only under <see cref="_writeLock"/>).</summary>
    private readonly PayloadChunks _payloads = new();
    private readonly TaskCompletionSource _writerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<Exception> _failure = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary><see cref="IJournalReplication.Appended"/> as the log's hand-off, made once (used only under <see cref="_writeLock"/>).</summary>
    private Action<IReadOnlyList<LogRecord>>? _handOff;

    private readonly System.Collections.Concurrent.ConcurrentQueue<Replicated> _replicated = new();
    private TaskCompletionSource _seqMoved = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _state = Created;
    private DateTimeOffset _nextKeySweep;

    /// <summary>
    /// The highest seq DuckDB and the commit observers may be given (the applier's and the publisher's ceiling): every
    /// acknowledged seq, but on a leader with synchronous replicas not one its followers have not acknowledged yet
    /// (issue #14: neither DuckDB nor the sinks may hold a tail a failover drops).
    /// </summary>
    private long _publishable;
    private Task _writer = Task.CompletedTask;
    private JournalLog? _log;
    private long _segmentFailuresLogged;
    private readonly bool _ownsLog;
    private JournalApplier? _applier;
    private JournalPublisher? _publisher;
    private TradeStateFlusher? _flusher;

    /// <summary>How long a flush or a read of DuckDB waits for DuckDB to hold an acknowledged seq.</summary>
    private static readonly TimeSpan ApplyWait = TimeSpan.FromSeconds(5);

    public WriteEngine(
        DuckDbDatabase database,
        StateIndex index,
        EngineOptions options,
        IMeterFactory meterFactory,
        IEnumerable<ICommitObserver>? observers = null,
        ILogger<WriteEngine>? logger = null,
        TimeProvider? timeProvider = null,
        JournalLog? log = null)
    {
        // Without a log given, the engine opens (and owns) the one beside the database, with fsync durability.
        _log = log;
        _ownsLog = log is null;
        _database = database;
        _index = index;
        _options = options;
        _observers = observers?.ToArray() ?? [];
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _journal = new JournalReader(database);
        Published = new PublishedJournal(database);
        _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _metrics = new EngineMetrics(meterFactory, () => _queue.Reader.Count, () => _flusher is { } flusher ? Math.Max(0, LastSeq - flusher.FlushedSeq) : 0,
            () => _applier?.Backlog ?? 0, () => _log?.SegmentPreparationFailures ?? 0, () => _index.IdempotencyKeyCount);
    }

    /// <summary>
    /// The journal as its observers read it (every event published to them, in DuckDB or not yet); by default one of the
    /// engine's own, or the one registered beside the database, so that the sinks built before the engine read it.
    /// </summary>
    public PublishedJournal Published { get; init; }

    /// <summary>The <c>seq</c> of the last acknowledged event (durable in the journal log).</summary>
    /// <remarks>The index's own seq: it moves when a batch is in the index, before its callers are answered.</remarks>
    public long LastSeq => _index.Seq;

    /// <summary>The <c>seq</c> of the last event DuckDB's <c>trade_events</c> holds (it trails <see cref="LastSeq"/> by the apply lag).</summary>
    public long AppliedSeq => _applier?.AppliedSeq ?? LastSeq;

    /// <summary>
    /// Spaces DuckDB's commits by <paramref name="interval"/> from now on, or again by <c>Engine:ApplyInterval</c> when
    /// <see langword="null"/>. A follower, whose DuckDB serves only <c>POST /v1/query</c>, history and the offline tools,
    /// commits less often than a leader (<c>Cluster:FollowerApplyInterval</c>).
    /// </summary>
    public void UseApplyInterval(TimeSpan? interval)
    {
        if (_applier is { } applier)
        {
            applier.Interval = interval ?? _options.ApplyInterval;
        }
    }

    /// <summary>
    /// The events of <paramref name="tradeId"/> acknowledged but not yet in DuckDB (added to <paramref name="events"/>,
    /// oldest first) and the seq DuckDB holds, taken at one moment (<see cref="JournalApplier.UnappliedOf"/>).
    /// </summary>
    internal long UnappliedOf(string tradeId, List<TradeEvent> events) => _applier is { } applier ? applier.UnappliedOf(tradeId, events) : LastSeq;

    /// <summary>Waits up to a few seconds until DuckDB holds <paramref name="seq"/>; <see langword="false"/> if it did not get there.</summary>
    internal bool WaitApplied(long seq) => WaitApplied(seq, ApplyWait);

    /// <summary>
    /// Waits until DuckDB's <c>trade_events</c> holds <paramref name="seq"/> (for a caller that reads DuckDB directly,
    /// such as a test or a benchmark); <see langword="false"/> after <paramref name="timeout"/> or once the engine stopped short of it.
    /// </summary>
    public bool WaitApplied(long seq, TimeSpan timeout) => _applier is not { } applier || applier.WaitApplied(seq, timeout);

    /// <summary>
    /// <see cref="WaitApplied(long, TimeSpan)"/> for a request: at once when DuckDB holds <paramref name="seq"/>,
    /// otherwise on a pool thread, so the caller's thread is not held. The wait cuts <see cref="EngineOptions.ApplyInterval"/>
    /// short; without <paramref name="timeout"/> it lasts at most a few seconds.
    /// </summary>
    public Task<bool> WaitAppliedAsync(long seq, TimeSpan? timeout = null) =>
        AppliedSeq >= seq ? Task.FromResult(true) : Task.Run(() => WaitApplied(seq, timeout ?? ApplyWait));

    /// <summary>Commands waiting for the writer.</summary>
    public int QueueDepth => _queue.Reader.Count;

    /// <summary>The last <c>seq</c> whose state the <c>trade_state</c> table holds (it is flushed behind the journal).</summary>
    public long StateFlushedSeq => _flusher?.FlushedSeq ?? 0;

    /// <summary>
    /// Opens the journal log (when none was given), replays into DuckDB what it lacks, loads the state index and
    /// starts the writer. The schema must already be migrated.
    /// </summary>
    /// <exception cref="JournalLogCorruptException">The log is damaged, or acknowledged events are in neither the log nor DuckDB.</exception>
    public void Start()
    {
        lock (_lifecycle)
        {
            if (_state != Created)
            {
                throw new InvalidOperationException("The WriteEngine has already been started.");
            }

            var started = Stopwatch.GetTimestamp();
            // DuckDB's end tells the log which damaged tail would drop acknowledged records (JournalLog.Open).
            _log ??= JournalLog.Open(JournalLog.DirectoryFor(_database.Path), new JournalLogOptions(), new JournalReader(_database).LastSeq());
            JournalLogReplayResult replay;
            try
            {
                replay = JournalLogReplay.Run(_database, _log);
            }
            catch when (_ownsLog)
            {
                _log.Dispose();
                throw;
            }

            if (_ownsLog)
            {
                // A host that opened the log itself replayed (and reported) before its integrity check.
                replay.Report(_logger);
            }

            _publishable = replay.LastSeq;
            _index.Load(_database, _time.GetUtcNow() - _options.IdempotencyKeyRetention, _logger);
            _index.Seq = replay.LastSeq;
            _applier = new JournalApplier(_database, _log, LastSeq, _options.MaxApplyBacklog, _options.ApplyInterval, () => Interlocked.Read(ref _publishable),
                _logger, _metrics);
            _publisher = new JournalPublisher(LastSeq, () => Interlocked.Read(ref _publishable), Notify, AnyObserverListening);
            Published.Attach(_applier, _publisher);
            _applier.Start();
            _publisher.Start();
            _flusher = new TradeStateFlusher(_database, _options.StateFlushInterval, _logger, _metrics, _time, seq => _applier.WaitApplied(seq, ApplyWait));
            _flusher.Start();
            _log.MarkInService();
            Log.EngineStarted(_logger, _index.Count, _index.LiveCount, _index.IdempotencyKeyCount, LastSeq,
                (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            Volatile.Write(ref _state, Running);
            // By design a dedicated thread, not a thread-pool loop: under load the pool's queue is full of
            // acknowledgement continuations, and the writer must not wait behind the work it produced.
            _writer = _writerDone.Task;
            new Thread(RunWriter) { IsBackground = true, Name = "tradestore-writer" }.Start();
            // Whoever meets DuckDB's FATAL error (the applier, the flusher, readiness, a query) reports it there.
            _database.WriteHealth.WhenInvalidated.ContinueWith(invalidated => DuckDbInvalidated(invalidated.Result), CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            _applier.Ended.ContinueWith(_ => ApplierEnded(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Cancelling <paramref name="cancellationToken"/> only stops the wait: a command already queued is still decided
    /// and may be committed, so a caller that gave up should retry with the same idempotency key to learn the outcome.
    /// </remarks>
    public ValueTask<CommandResult> SubmitAsync(TradeCommand command, CancellationToken cancellationToken = default) =>
        Submit(command, inline: false, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// When no batch is being committed, the caller's thread commits what is queued (one batch, its command among
    /// it): a lone sequential client pays one fsync and no thread hand-offs. Never while DuckDB trails by
    /// <see cref="EngineOptions.MaxApplyBacklog"/>: the commit would wait for DuckDB, and a caller's thread must not block.
    /// Nor on a socket event thread of a cluster node (<see cref="Replication"/> set), which must go on reading the
    /// followers' acknowledgements.
    /// </remarks>
    public ValueTask<CommandResult> SubmitAndWaitAsync(TradeCommand command, CancellationToken cancellationToken = default) =>
        Submit(command, inline: true, cancellationToken);

    private ValueTask<CommandResult> Submit(TradeCommand command, bool inline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        cancellationToken.ThrowIfCancellationRequested();
        if (Volatile.Read(ref _state) != Running || _database.WriteHealth.WritesRefused is not null)
        {
            return new(Unavailable(command));
        }

        var pending = new Pending(command, Stopwatch.GetTimestamp());
        if (_queue.Writer.TryWrite(pending))
        {
            if (inline)
            {
                CommitInlineOrWakeWriter();
            }
            else
            {
                _wakeUp.Set();
            }
        }
        else
        {
            if (Volatile.Read(ref _state) != Running)
            {
                return new(Unavailable(command));
            }

            _metrics.Command(command, "busy");
            return new(CommandResult.Refused(new CommandError(CommandErrorKind.Busy,
                $"The write queue is full ({_options.QueueCapacity} commands); retry shortly.")));
        }

        return cancellationToken.CanBeCanceled
            ? new(pending.Completion.Task.WaitAsync(cancellationToken))
            : new(pending.Completion.Task);
    }

    /// <summary>
    /// Stops accepting commands (they are refused as unavailable), commits everything already queued to the log,
    /// applies it to DuckDB, flushes the pending states into <c>trade_state</c>, checkpoints the database and recycles
    /// the log segments the checkpoint covers. Safe to call more than once.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_lifecycle)
        {
            if (_state == Created)
            {
                _state = Stopped;
                return;
            }

            if (_state == Running)
            {
                _state = Stopping;
                Log.EngineStopping(_logger, _queue.Reader.Count);
                _queue.Writer.TryComplete();
                _wakeUp.Set();
            }
        }

        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        var drained = stopping.Elapsed;
        if (_publisher is { } publisher)
        {
            // The writer has drained: the observers hear of everything acknowledged before the sinks' final flush.
            await publisher.StopAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        if (_applier is { } applier)
        {
            // The writer has drained: everything acknowledged goes into DuckDB before the final state flush.
            await applier.StopAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        var applied = stopping.Elapsed;
        if (_flusher is { } flusher)
        {
            // The writer has drained: the flusher's final flush writes every committed state.
            await flusher.StopAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        var flushed = stopping.Elapsed;

        lock (_lifecycle)
        {
            if (_state == Stopped)
            {
                return;
            }

            _state = Stopped;
            _flusher?.Dispose();
        }

        var checkpointed = false;
        try
        {
            var covered = AppliedSeq;
            _database.Checkpoint();
            checkpointed = true;
            _log?.RecycleThrough(covered);
        }
        catch (Exception ex) when (ex is DuckDB.NET.Data.DuckDBException or ObjectDisposedException)
        {
            Log.CheckpointFailed(_logger, ex);
            Log.EngineStoppedUncheckpointed(_logger, LastSeq);
        }
        catch (Exception ex) when (checkpointed && ex is IOException or UnauthorizedAccessException)
        {
            // The checkpoint holds everything; segments that could not be deleted stay, and the next start recycles them.
            Log.RecycleDeleteFailed(_logger, ex, AppliedSeq);
        }
        finally
        {
            _applier?.Dispose();
            if (_ownsLog)
            {
                _log?.Dispose();
            }
        }

        if (checkpointed)
        {
            // Where a long stop went (until 2026-12-05 a 6.2 s stop at 3.6 M trades said nothing between 2001 and 2002).
            Log.EngineStopped(_logger, LastSeq, stopping.Elapsed.TotalSeconds, drained.TotalSeconds, (applied - drained).TotalSeconds,
                (flushed - applied).TotalSeconds, (stopping.Elapsed - flushed).TotalSeconds);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _metrics.Dispose();
        // By design _wakeUp is not disposed: a submission racing with shutdown may still Set it, and an event
        // whose wait handle was never created holds nothing to release.
    }

    private CommandResult Unavailable(TradeCommand command)
    {
        _metrics.Command(command, "unavailable");
        return CommandResult.Refused(new CommandError(CommandErrorKind.Unavailable,
            _database.WriteHealth.WritesRefused ?? (_database.WriteHealth.Invalidated is not null
                ? "The write engine stopped: DuckDB failed for good and the server restarts (see the server log); retry shortly."
                : "The write engine is not running (starting up or shutting down); retry shortly.")));
    }

    /// <summary>
    /// When no batch is being committed, the submitting thread commits what is queued itself; otherwise the writer
    /// thread is woken, and takes the next batch once the current one is done, so under load the groups grow as before.
    /// </summary>
    private void CommitInlineOrWakeWriter()
    {
        // Never on a replicating node's socket event thread: the fsync would keep that thread from reading the
        // followers' acknowledgements, which the group waits for (32 connections on a 3-node cluster: 3,300–3,500
        // writes/s committed there, 4,800–6,100/s by the writer thread, docs/benchmarks/2026-12-02-session22.md).
        if ((Replication is not null && SocketEventThreads.IsCurrent) || !_writeLock.TryEnter())
        {
            _wakeUp.Set();
            return;
        }

        try
        {
            if (_applier!.Backlog >= _options.MaxApplyBacklog)
            {
                // DuckDB trails by the most allowed: committing would wait for it, and a caller's thread must not block.
                _wakeUp.Set();
                return;
            }

            CommitOnce(_inlineBatch);
        }
        finally
        {
            _writeLock.Exit();
        }

        if (_queue.Reader.Count > 0 || !_replicated.IsEmpty)
        {
            _wakeUp.Set();
        }
    }

    private void RunWriter()
    {
        var batch = new List<Pending>(_options.MaxBatchSize);
        var reader = _queue.Reader;
        while (true)
        {
            bool committed;
            lock (_writeLock)
            {
                committed = CommitOnce(batch);
            }

            if (committed)
            {
                continue;
            }

            // Reset before looking again: a submission after the look sets the event, so no wake-up is lost.
            _wakeUp.Reset();
            if (reader.TryPeek(out _) || !_replicated.IsEmpty)
            {
                continue;
            }

            if (reader.Completion.IsCompleted)
            {
                // A submitter may still be committing the last batch it took inline: the writer is done after it.
                lock (_writeLock)
                {
                }

                break;
            }

            _wakeUp.Wait();
        }

        while (_replicated.TryDequeue(out var left))
        {
            left.Completion.TrySetException(new InvalidOperationException("The write engine stopped before the replicated records were appended."));
        }

        _writerDone.TrySetResult();
    }

    /// <summary>
    /// Under <see cref="_writeLock"/>: appends one group of replicated records, or decides and commits one batch of what
    /// is queued; <see langword="false"/> when there was nothing to do. A failure that is not a storage error stops the
    /// engine: every command taken or still queued is answered as unavailable.
    /// </summary>
    private bool CommitOnce(List<Pending> batch)
    {
        if (_replicated.TryDequeue(out var copy))
        {
            try
            {
                ProcessReplicated(copy);
            }
            catch (Exception ex)
            {
                copy.Completion.TrySetException(ex);
                Crashed(ex, []);
            }

            return true;
        }

        var reader = _queue.Reader;
        // By design never wait for a batch to fill: take what is queued now, up to the limit.
        while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var pending))
        {
            batch.Add(pending);
        }

        if (batch.Count == 0)
        {
            return false;
        }

        try
        {
            ProcessBatch(batch);
        }
        catch (Exception ex)
        {
            Crashed(ex, batch);
        }
        finally
        {
            batch.Clear();
        }

        return true;
    }

    /// <summary>
    /// Completes with the error that stopped the writer (an internal error, or a journal log that can no longer be
    /// appended to) or the engine (<see cref="DuckDbInvalidatedException"/>: DuckDB invalidated the database, so it can
    /// never catch up with the log in this process); never completes on a normal stop. The host stops the process on it, so a supervisor restarts it
    /// and a cluster leader gives up its lease.
    /// </summary>
    public Task<Exception> Failure => _failure.Task;

    /// <summary>
    /// DuckDB invalidated the database (<see cref="StorageWriteHealth.WhenInvalidated"/>): nothing can be written into it
    /// again in this process, so DuckDB would never catch up with the log. Logs why, refuses new commands, lets the writer
    /// commit what is queued to the log (durable, so acknowledged) and completes <see cref="Failure"/>: the host stops the
    /// process on it (exit code 7) for the guard to restart it, and the start replays the log into DuckDB.
    /// </summary>
    private void DuckDbInvalidated(DuckDbInvalidatedException failure)
    {
        if (StopForRestart())
        {
            Log.DuckDbInvalidated(_logger, failure.DuckDbMessage, AppliedSeq, LastSeq);
            _failure.TrySetResult(failure);
        }
    }

    /// <summary>
    /// The applier's thread ended while the engine runs: after DuckDB's FATAL error (<see cref="DuckDbInvalidated"/> handles
    /// that) or a fault of its own. DuckDB would then hold no further event in this process, the log would never be
    /// recycled, and the applier's queue would grow without its bound; so the engine stops the same way, for a restart that
    /// replays the log into DuckDB.
    /// </summary>
    private void ApplierEnded()
    {
        if (_database.WriteHealth.Invalidated is not null || !StopForRestart())
        {
            return;
        }

        Log.ApplierEnded(_logger, AppliedSeq, LastSeq);
        _failure.TrySetResult(new InvalidOperationException(
            $"The DuckDB applier stopped while the server ran (DuckDB holds seq {AppliedSeq}, the journal log {LastSeq}); a restart replays the log into DuckDB."));
    }

    /// <summary>
    /// Refuses new commands and lets the writer commit what is queued to the log (durable, so acknowledged);
    /// <see langword="false"/> when the engine is already stopping (or stopped): that stop does not wait for DuckDB
    /// (events 2005, 2010 say so), and the next start replays the log.
    /// </summary>
    private bool StopForRestart()
    {
        lock (_lifecycle)
        {
            if (_state != Running)
            {
                return false;
            }

            _state = Stopping;
            _queue.Writer.TryComplete();
            _wakeUp.Set();
            return true;
        }
    }

    private void Crashed(Exception ex, List<Pending> batch)
    {
        Log.WriterCrashed(_logger, ex);
        _failure.TrySetResult(ex);
        lock (_lifecycle)
        {
            if (_state == Running)
            {
                _state = Stopping;
            }

            _queue.Writer.TryComplete();
        }

        var failure = CommandResult.Refused(new CommandError(CommandErrorKind.Unavailable, "The write engine stopped after an internal error; see the server log."));
        foreach (var pending in batch)
        {
            pending.Completion.TrySetResult(failure);
        }

        while (_queue.Reader.TryRead(out var pending))
        {
            pending.Completion.TrySetResult(failure);
        }

        _wakeUp.Set();
    }

    private void ProcessBatch(List<Pending> batch)
    {
        BatchDecision decision;
        try
        {
            decision = Decide(batch);
        }
        catch (Exception ex) when (ex is DuckDB.NET.Data.DuckDBException or InvalidOperationException)
        {
            // Decide reads DuckDB only for an earlier idempotent result, and refuses that command alone when the read
            // fails; anything else here is a fault of its own, said as such: nothing was written.
            _database.WriteHealth.ReportIfInvalidated(ex);
            _database.WriteHealth.CommitFailed(_logger, ex, batch.Count, 0, LastSeq + 1, LastSeq);
            Complete(batch, [.. batch.Select(_ => StorageFailure())]);
            return;
        }

        if (decision.Events.Count > 0)
        {
            var started = Stopwatch.GetTimestamp();
            LogRecord[] records;
            try
            {
                records = AppendToLog(decision.Events);
            }
            catch (Exception ex) when (!_log!.IsBroken)
            {
                _database.WriteHealth.CommitFailed(_logger, ex, batch.Count, decision.Events.Count, decision.Events[0].Seq, decision.Events[^1].Seq);
                var failure = IsDiskFull(ex) ? DiskFull() : StorageFailure();
                for (var i = 0; i < batch.Count; i++)
                {
                    if (decision.DependsOnBatch[i])
                    {
                        decision.Results[i] = failure;
                    }
                }

                Complete(batch, decision.Results);
                return;
            }
            catch (JournalAppendUndecidedException)
            {
                // Written and not taken back: the log is broken, and the next start may replay these records.
                CompleteInDoubt(batch, decision);
                throw;
            }

            try
            {
                _metrics.Batch(batch.Count, Stopwatch.GetElapsedTime(started));
                _database.WriteHealth.CommitSucceeded(_logger);
                _index.ApplyBatch(decision.Events, decision.HeldKeys);

                ForgetExpiredKeys();

                // Before the callers hear of it: a list read right after the acknowledgement must see the change.
                decision.Split(out var created, out var changed);
                _flusher!.Add(created, changed, decision.Events[^1].Seq);
                var last = decision.Events[^1].Seq;
                if (Replication is not { } replication)
                {
                    InterlockedMax.Raise(ref _publishable, last);
                    HandOff(decision.Events);
                    SeqMoved();
                }
                else
                {
                    // The followers' streams got the records at the write, before this node's fsync (AppendToLog).
                    var wait = replication.WaitReplicatedAsync(last, records[^1].Term);
                    var replicated = wait.IsCompletedSuccessfully && wait.Result;
                    if (replicated)
                    {
                        InterlockedMax.Raise(ref _publishable, last);
                    }

                    HandOff(decision.Events);
                    SeqMoved();
                    if (!replicated)
                    {
                        CompleteWhenReplicated(wait, batch, decision, last);
                        return;
                    }
                }
            }
            catch
            {
                // The batch is in the log, so a restart applies it: whatever stopped the writer here must not answer its
                // commands "unavailable" (nothing applied). Crashed answers the rest of the queue.
                CompleteInDoubt(batch, decision);
                throw;
            }
        }
        else if (decision.ReplayedUnreplicated > 0 && Replication is { } replaying)
        {
            // Only replays of writes the followers have not acknowledged: they wait for them as the writes did.
            var replayed = decision.ReplayedUnreplicated;
            CompleteWhenReplicated(replaying.WaitReplicatedAsync(replayed, replaying.Term), batch, decision, replayed);
            return;
        }

        Complete(batch, decision.Results);
    }

    /// <summary>
    /// Answers a batch whose events are in the journal log, or may be, when the writer failed for good before it could
    /// acknowledge them: what depended on the batch is in doubt (a restart replays the log), the rest as decided.
    /// </summary>
    private void CompleteInDoubt(List<Pending> batch, BatchDecision decision)
    {
        var inDoubt = CommandResult.Refused(new CommandError(CommandErrorKind.InDoubt,
            "The write engine stopped after an internal error, once the batch holding this command was written to the journal log (or may have been): " +
            "it may have been applied, and a restart replays the log. Retry with the same Idempotency-Key to learn the outcome."));
        for (var i = 0; i < batch.Count; i++)
        {
            if (decision.DependsOnBatch[i] && decision.Results[i].Succeeded)
            {
                decision.Results[i] = inDoubt;
            }
        }

        Complete(batch, decision.Results);
    }

    /// <summary>
    /// Answers a group once <paramref name="wait"/> for the followers to hold <paramref name="seq"/> ends. By design the
    /// writer does not wait: the next group is appended (and streamed) meanwhile.
    /// </summary>
    private void CompleteWhenReplicated(Task<bool> wait, List<Pending> batch, BatchDecision decision, long seq)
    {
        Pending[] waiting = [.. batch];
        var results = decision.Results;
        var depends = decision.DependsOnBatch;
        wait.ContinueWith(t => CompleteReplicated(waiting, results, depends, seq, t.IsCompletedSuccessfully && t.Result), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Answers a group once its replication wait ended: as decided, or <c>replication-unavailable</c> for what depended on the group.</summary>
    private void CompleteReplicated(Pending[] batch, CommandResult[] results, bool[] dependsOnBatch, long lastSeq, bool replicated)
    {
        if (replicated)
        {
            InterlockedMax.Raise(ref _publishable, lastSeq);
            _applier!.CeilingMoved();
            _publisher!.CeilingMoved();
        }
        else
        {
            var failure = CommandResult.Refused(new CommandError(CommandErrorKind.ReplicationUnavailable,
                "The write is in the leader's journal log but too few followers (Cluster:SyncReplicas) acknowledged it within Cluster:ReplicationTimeout, " +
                "so it is not acknowledged: it may or may not survive a failover. Retry with the same Idempotency-Key."));
            for (var i = 0; i < batch.Length; i++)
            {
                if (dependsOnBatch[i] && results[i].Succeeded)
                {
                    results[i] = failure;
                }
            }
        }

        Complete(batch, results);
    }

    /// <summary>The replication hook of a cluster node (issue #14); <see langword="null"/> standalone. Set before <see cref="Start"/>.</summary>
    public IJournalReplication? Replication { get; init; }

    /// <summary>
    /// A follower's path (issue #14): appends records received from the leader, unchanged, to this node's journal log
    /// (one write and one fsync for the group), then applies them exactly as the leader's own writes: the state index,
    /// the state flusher and DuckDB behind the log. Runs on the writer thread, so it never interleaves with a local
    /// batch. Completes once the records are durable and in the index.
    /// </summary>
    /// <exception cref="ArgumentException">The records do not follow <see cref="LastSeq"/>, or one does not match its checksum.</exception>
    /// <exception cref="InvalidOperationException">The engine is not running.</exception>
    public Task AppendReplicatedAsync(IReadOnlyList<LogRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return Task.CompletedTask;
        }

        if (Volatile.Read(ref _state) != Running)
        {
            return Task.FromException(new InvalidOperationException("The write engine is not running."));
        }

        var item = new Replicated(records);
        _replicated.Enqueue(item);
        // As a local caller that waits (SubmitAndWaitAsync): when nothing is being committed, the stream's own thread
        // appends, which saves the hand-offs to and from the writer thread on every replicated group. Never while
        // DuckDB trails by the most allowed: the append would wait for it, and the stream's thread must not block.
        if (_applier!.Backlog < _options.MaxApplyBacklog && _writeLock.TryEnter())
        {
            try
            {
                while (!item.Completion.Task.IsCompleted && CommitOnce(_inlineBatch))
                {
                }
            }
            finally
            {
                _writeLock.Exit();
            }
        }

        if (!item.Completion.Task.IsCompleted || !_replicated.IsEmpty || _queue.Reader.Count > 0)
        {
            _wakeUp.Set();
        }

        return item.Completion.Task;
    }

    /// <summary>
    /// Waits until this node's index holds <paramref name="seq"/> (read-your-writes with <c>?minSeq=</c>); <see langword="false"/>
    /// after <paramref name="timeout"/>.
    /// </summary>
    public async Task<bool> WaitSeqAsync(long seq, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = _time.GetTimestamp() + (long)(timeout.TotalSeconds * _time.TimestampFrequency);
        while (true)
        {
            var moved = Volatile.Read(ref _seqMoved).Task;
            if (LastSeq >= seq)
            {
                return true;
            }

            var left = _time.GetElapsedTime(_time.GetTimestamp(), deadline);
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            try
            {
                await moved.WaitAsync(left, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return LastSeq >= seq;
            }
        }
    }

    private void SeqMoved() => Interlocked.Exchange(ref _seqMoved, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private void ProcessReplicated(Replicated copy)
    {
        try
        {
            var records = copy.Records;
            if (records[0].Seq != LastSeq + 1)
            {
                throw new ArgumentException($"replicated record seq {records[0].Seq} does not follow seq {LastSeq} of this node", nameof(copy));
            }

            var events = new List<TradeEvent>(records.Count);
            foreach (var record in records)
            {
                events.Add(EventCodec.Decode(record.Seq, record.Payload.Span));
            }

            var isNew = new HashSet<string>(StringComparer.Ordinal);
            var created = new Dictionary<string, Trade>(StringComparer.Ordinal);
            var changed = new Dictionary<string, Trade>(StringComparer.Ordinal);
            foreach (var e in events)
            {
                if (!created.ContainsKey(e.TradeId) && !changed.ContainsKey(e.TradeId) && _index.Find(e.TradeId) is null)
                {
                    isNew.Add(e.TradeId);
                }

                (isNew.Contains(e.TradeId) ? created : changed)[e.TradeId] = e.State;
            }

            var started = Stopwatch.GetTimestamp();
            _log!.Append(records);
            _metrics.Batch(records.Count, Stopwatch.GetElapsedTime(started));
            _index.ApplyBatch(events);

            ForgetExpiredKeys();

            InterlockedMax.Raise(ref _publishable, records[^1].Seq);
            _flusher!.Add([.. created.Values], [.. changed.Values], records[^1].Seq);
            HandOff(events);
            SeqMoved();
            copy.Completion.TrySetResult();
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or InvalidDataException or InvalidOperationException or UnauthorizedAccessException)
        {
            copy.Completion.TrySetException(ex);
        }
    }

    /// <summary>
    /// The group commit: one write and (with fsync durability) one fdatasync for every event of the batch. On a leader
    /// the records go to the followers' streams between the write and the fdatasync, so the two fsyncs overlap.
    /// </summary>
    private LogRecord[] AppendToLog(List<TradeEvent> events)
    {
        var replication = Replication;
        var term = replication?.Term ?? Term;
        var records = new LogRecord[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            records[i] = LogRecord.Create(events[i].Seq, term, _payloads.Encode(events[i]));
        }

        _log!.Append(records, replication is null ? null : _handOff ??= replication.Appended);
        if (_log.SegmentPreparationFailures is var failures && failures != _segmentFailuresLogged)
        {
            // Prepared in the background: a failure shows at a later append, and is logged once.
            _segmentFailuresLogged = failures;
            Log.SegmentNotPrepared(_logger, _log.LastSegmentPreparationError?.Message ?? "no cause recorded", failures);
        }

        return records;
    }

    /// <summary>The leadership term written into each log record; 0 for a standalone node (replication sets it, issue #14).</summary>
    public long Term { get; init; }

    private static CommandResult StorageFailure() => CommandResult.Refused(new CommandError(CommandErrorKind.StorageFailure,
        "The batch holding this command could not be written to the journal log; nothing of it was kept. Retry."));

    /// <summary>
    /// The same refusal when the disk is full, saying so: a caller (and whoever reads its log) can tell a failure that a
    /// retry at once may cure from one that lasts until space is freed.
    /// </summary>
    private static CommandResult DiskFull() => CommandResult.Refused(new CommandError(CommandErrorKind.StorageFailure,
        "The batch holding this command could not be written to the journal log: the server's disk is full. Nothing of it was kept; " +
        "retry once space is freed (GET /health/ready is healthy again then)."));

    /// <summary>ENOSPC, from the log's own free-space check or from the kernel.</summary>
    private static bool IsDiskFull(Exception ex) =>
        ex is IOException { HResult: 28 } || ex.Message.Contains("No space left on device", StringComparison.Ordinal);

    /// <summary>
    /// Forgets the idempotency keys older than <c>Engine:IdempotencyKeyRetention</c>, at most once a second of the engine's
    /// clock. Under the write lock, after a commit: the index's keys are the writer's alone.
    /// </summary>
    private void ForgetExpiredKeys()
    {
        var now = _time.GetUtcNow();
        if (now < _nextKeySweep)
        {
            return;
        }

        _nextKeySweep = now + TimeSpan.FromSeconds(1);
        _index.ForgetIdempotencyKeysBefore(now - _options.IdempotencyKeyRetention);
    }

    private BatchDecision Decide(List<Pending> batch)
    {
        var now = Timestamps.Normalize(_time.GetUtcNow());
        // Keys recorded before this are forgotten, whether or not a commit has swept them out of the index yet.
        var keysSince = (now - _options.IdempotencyKeyRetention).UtcTicks;
        var decision = new BatchDecision(batch.Count, _scratch.Cleared());
        var seq = LastSeq;
        for (var i = 0; i < batch.Count; i++)
        {
            var command = batch[i].Command;
            var held = batch[i].Key;
            if (command.IdempotencyKey is { } key)
            {
                // Namespaced by the caller; a reuse for a different request is refused (IdempotencyKeys).
                if (decision.Keys.TryGetValue(held.Lookup, out var inBatch))
                {
                    decision.Results[i] = inBatch.Fingerprint == held.Fingerprint ? CommandResult.Replay(inBatch.Trade) : CommandResult.Refused(IdempotencyKeys.Reused(key));
                    decision.DependsOnBatch[i] = true;
                    continue;
                }

                if (!_index.TryGetIdempotency(held.Lookup, out var record) && !held.IsPlain && LegacyKey(key, held, command) is { } legacy)
                {
                    record = legacy;
                }

                if (record.TradeId is not null && record.RecordedTicks < keysSince)
                {
                    // By design expired here too: the sweep runs only after a commit, so on an idle server a retry past the
                    // retention was replayed although the key is documented as forgotten (a new request) by then.
                    record = default;
                }

                if (record.TradeId is not null && record.Fingerprint != held.Fingerprint && !IdempotencyKeys.SameRequest(record.Fingerprint.Text, held.Fingerprint.Text, command))
                {
                    decision.Results[i] = CommandResult.Refused(IdempotencyKeys.Reused(key));
                    continue;
                }

                Trade? earlier;
                try
                {
                    earlier = record.TradeId is null ? null : Replayed(record);
                }
                catch (Exception ex) when (ex is DuckDB.NET.Data.DuckDBException or InvalidOperationException)
                {
                    // The key's trade changed since (or left memory), so its earlier result is read from DuckDB's journal,
                    // and that read failed: this command alone is refused, saying so; nothing was written, and the key
                    // still holds its result for a retry. (Said until now as a batch the journal log could not take.)
                    _database.WriteHealth.ReportIfInvalidated(ex);
                    Log.ReplayReadFailed(_logger, ex, record.TradeId!, record.Version);
                    decision.Results[i] = CommandResult.Refused(new CommandError(CommandErrorKind.StorageFailure,
                        $"The earlier result of this Idempotency-Key (trade {record.TradeId} version {record.Version}) could not be read from DuckDB " +
                        "(see the server log); nothing was written. Retry with the same key."));
                    continue;
                }

                if (earlier is not null)
                {
                    decision.Results[i] = CommandResult.Replay(earlier);
                    if (Replication is not null && earlier.LastSeq > Interlocked.Read(ref _publishable))
                    {
                        // A retry of a write answered replication-unavailable: it is acknowledged only once followers hold it.
                        decision.DependsOnBatch[i] = true;
                        decision.ReplayedUnreplicated = Math.Max(decision.ReplayedUnreplicated, earlier.LastSeq);
                    }

                    continue;
                }
            }

            var current = decision.Overlay.TryGetValue(command.TradeId, out var overlaid) ? overlaid : _index.Find(command.TradeId);
            if (TradeLifecycle.TryDecide(command, current, seq + 1, now, out var transition, out var error))
            {
                seq++;
                var state = transition.State;
                decision.Overlay[state.TradeId] = state;
                if (transition.Type == TradeEventType.Create)
                {
                    decision.CreatedIds.Add(state.TradeId);
                }

                decision.Events.Add(new TradeEvent(seq, transition.Type, state, transition.LastQuantity, transition.LastPrice, now, command.IdempotencyKey));
                decision.HeldKeys.Add(held);
                decision.Results[i] = CommandResult.Applied(state);
                decision.DependsOnBatch[i] = true;
                if (command.IdempotencyKey is not null)
                {
                    decision.Keys[held.Lookup] = (state, held.Fingerprint);
                }
            }
            else
            {
                decision.Results[i] = CommandResult.Refused(error!);
            }
        }

        return decision;
    }

    /// <summary>
    /// The record of <paramref name="key"/>'s client key when it was stored plain, as builds before keys were namespaced
    /// stored every key (and as commands submitted to the engine directly still are): after an upgrade a client's retry
    /// of a command cut off by the upgrade's stop must replay, not apply twice. It counts as the same request only for the
    /// same trade (a plain key has no fingerprint to compare); for another trade it is a reuse. <see langword="null"/>
    /// when no plain key matches.
    /// </summary>
    private IdempotencyRecord? LegacyKey(string key, HeldKey held, TradeCommand command)
    {
        if (!_index.HasPlainKeys || !_index.TryGetIdempotency(KeyDigest.Of(IdempotencyKeys.ClientKey(key)), out var plain) || !plain.Fingerprint.IsNone)
        {
            return null;
        }

        return plain with { Fingerprint = plain.TradeId == command.TradeId ? held.Fingerprint : default };
    }

    /// <summary>
    /// The state an earlier command produced: from the index when it is still current, else from the acknowledged
    /// events DuckDB does not hold yet, else from its journal row (looked up in that order: an event leaves the
    /// applier's memory only after DuckDB committed it).
    /// </summary>
    private Trade? Replayed(IdempotencyRecord record)
    {
        var current = _index.Find(record.TradeId);
        if (current is not null && current.Version == record.Version)
        {
            return current;
        }

        return (_applier?.FindUnapplied(record.TradeId, record.Version) ?? _journal.ReadEvent(record.TradeId, record.Version))?.State;
    }

    private void Complete(IReadOnlyList<Pending> batch, CommandResult[] results)
    {
        var now = Stopwatch.GetTimestamp();
        for (var i = 0; i < batch.Count; i++)
        {
            var pending = batch[i];
            var result = results[i];
            _metrics.Command(pending.Command, EngineMetrics.Outcome(result));
            _metrics.Acknowledged(Stopwatch.GetElapsedTime(pending.EnqueuedAt, now));
            pending.Completion.TrySetResult(result);
        }
    }

    /// <summary>
    /// Hands a group durable in the log to DuckDB's applier, then to the publisher, in that order: an event published is
    /// then always in the applier's queue or in DuckDB (<see cref="PublishedJournal"/>). Both take it only up to the ceiling.
    /// </summary>
    private void HandOff(List<TradeEvent> events)
    {
        _applier!.Enqueue(events, Stopwatch.GetTimestamp());
        _publisher!.Offer(events);
    }

    /// <summary>Whether any commit observer wants to be told now (<see cref="JournalPublisher"/> asks at each group).</summary>
    private bool AnyObserverListening() => Array.Exists(_observers, static observer => observer.IsListening);

    /// <summary>Called on the publisher's thread with each group as it is published.</summary>
    private void Notify(IReadOnlyList<TradeEvent> committed)
    {
        if (_observers.Length == 0)
        {
            return;
        }

        foreach (var observer in _observers)
        {
            try
            {
                observer.OnCommitted(committed);
            }
            catch (Exception ex)
            {
                Log.ObserverFailed(_logger, ex, observer.GetType().Name);
            }
        }
    }

    private sealed class Replicated(IReadOnlyList<LogRecord> records)
    {
        public IReadOnlyList<LogRecord> Records { get; } = records;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A command waiting for its batch; it is its own completion source (one object less per command).</summary>
    private sealed class Pending(TradeCommand command, long enqueuedAt) : TaskCompletionSource<CommandResult>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public TradeCommand Command { get; } = command;

        /// <summary>
        /// The held form of the command's idempotency key (<see langword="default"/> without one): digested here, on the
        /// submitting thread, once, rather than on the single writer's (<see cref="KeyDigest"/>).
        /// </summary>
        public HeldKey Key { get; } = command.IdempotencyKey is { } key ? HeldKey.Of(key) : default;

        public long EnqueuedAt { get; } = enqueuedAt;

        public TaskCompletionSource<CommandResult> Completion => this;
    }

    /// <summary>
    /// What one batch decided. Its results and events outlive the batch (the replication wait and the applier keep them);
    /// the working maps come from the engine's <see cref="BatchScratch"/>, emptied for each batch, so a batch of thousands
    /// of commands does not grow three new hash tables.
    /// </summary>
    private sealed class BatchDecision(int size, BatchScratch scratch)
    {
        public CommandResult[] Results { get; } = new CommandResult[size];

        /// <summary>
        /// Whether a result stands only if the batch commits and is replicated (applied, replaying a key applied in this
        /// batch, or replaying an earlier write the followers have not acknowledged yet).
        /// </summary>
        public bool[] DependsOnBatch { get; } = new bool[size];

        /// <summary>The highest seq of an earlier write replayed here that was not yet replicated (0 when none).</summary>
        public long ReplayedUnreplicated { get; set; }

        public List<TradeEvent> Events { get; } = new(size);

        /// <summary>
        /// The held form of each event's idempotency key, in the order of <see cref="Events"/>, for
        /// <see cref="StateIndex.ApplyBatch"/> (the scratch's list: read before the next batch).
        /// </summary>
        public List<HeldKey> HeldKeys => scratch.HeldKeys;

        /// <summary>The latest state of each trade this batch changed.</summary>
        public Dictionary<string, Trade> Overlay => scratch.Overlay;

        /// <summary>Idempotency keys applied in this batch.</summary>
        public Dictionary<KeyDigest, (Trade Trade, HeldFingerprint Fingerprint)> Keys => scratch.Keys;

        public HashSet<string> CreatedIds => scratch.CreatedIds;

        /// <summary>
        /// Final states of trades created in this batch (not yet in <c>trade_state</c>) and of trades known before; the
        /// lists are the scratch's, valid until the next batch.
        /// </summary>
        public void Split(out List<Trade> created, out List<Trade> changed)
        {
            created = scratch.Created;
            changed = scratch.Changed;
            foreach (var state in Overlay.Values)
            {
                // A create succeeds only for an unknown id (deleted ones are remembered), so it is in no earlier state.
                (CreatedIds.Contains(state.TradeId) ? created : changed).Add(state);
            }
        }
    }

    /// <summary>The working collections of a batch, reused from one batch to the next (only under <see cref="_writeLock"/>).</summary>
    private sealed class BatchScratch
    {
        public Dictionary<string, Trade> Overlay { get; } = new(StringComparer.Ordinal);

        public Dictionary<KeyDigest, (Trade Trade, HeldFingerprint Fingerprint)> Keys { get; } = [];

        public List<HeldKey> HeldKeys { get; } = [];

        public HashSet<string> CreatedIds { get; } = new(StringComparer.Ordinal);

        public List<Trade> Created { get; } = [];

        public List<Trade> Changed { get; } = [];

        /// <summary>Empties every collection for the next batch; their capacity stays.</summary>
        public BatchScratch Cleared()
        {
            Overlay.Clear();
            Keys.Clear();
            HeldKeys.Clear();
            CreatedIds.Clear();
            Created.Clear();
            Changed.Clear();
            return this;
        }
    }
}
