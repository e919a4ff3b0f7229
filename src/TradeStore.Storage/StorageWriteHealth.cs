using Microsoft.Extensions.Logging;

namespace TradeStore.Storage;

/// <summary>What <see cref="StorageWriteHealth"/> knows of a run of failed commits.</summary>
/// <param name="Cause">The last failure's message (for example DuckDB's "No space left on device").</param>
/// <param name="Since">When the first commit of the run failed.</param>
/// <param name="FailedBatches">Batches that failed since the last successful commit.</param>
public sealed record WriteFailure(string Cause, DateTimeOffset Since, long FailedBatches);

/// <summary>What <see cref="StorageWriteHealth"/> knows of a run of failed applies: DuckDB trails the journal log.</summary>
/// <param name="Cause">The last failure's message.</param>
/// <param name="Since">When the first apply of the run failed.</param>
/// <param name="Attempts">Applies that failed since the last one that succeeded.</param>
/// <param name="FirstSeq">First seq of the events the last attempt tried to apply.</param>
/// <param name="LastSeq">Last seq of the events the last attempt tried to apply.</param>
public sealed record ApplyFailure(string Cause, DateTimeOffset Since, long Attempts, long FirstSeq, long LastSeq);

/// <summary>
/// Whether commits to the database succeed: the write engine reports every commit into it, readiness
/// (<see cref="DuckDbHealthCheck"/>) reads it. By design it also owns the logging of failed commits: on a full disk
/// every batch fails, and a stack trace per batch filled 8.2 MB of log in 30 s (issue 18). The first failure of a run
/// is logged with its exception; the rest once per <see cref="LogInterval"/>, with a count; the end of the run once.
/// </summary>
public sealed class StorageWriteHealth
{
    private readonly object _gate = new();
    private WriteFailure? _failure;
    private ApplyFailure? _applyFailure;
    private long _notLogged;
    private DateTimeOffset _lastLogged;
    private string? _writesRefused;
    private readonly TaskCompletionSource<DuckDbInvalidatedException> _invalidated = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The clock; <see cref="TimeProvider.System"/> unless a test sets another.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Failed commits are summarised once per this interval. Default 10 s.</summary>
    public TimeSpan LogInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The current run of failed commits, or <see langword="null"/> while commits succeed.</summary>
    public WriteFailure? Failure
    {
        get
        {
            lock (_gate)
            {
                return _failure;
            }
        }
    }

    /// <summary>
    /// The current run of failed applies of the journal log into DuckDB, or <see langword="null"/> while they succeed.
    /// Writes are still acknowledged (the log holds them) and reads of trades and positions stay exact, but
    /// <c>POST /v1/query</c> and trade history wait for DuckDB, so readiness reports it as degraded.
    /// </summary>
    public ApplyFailure? ApplyFailure => Volatile.Read(ref _applyFailure);

    /// <summary>An apply of seq <paramref name="firstSeq"/>..<paramref name="lastSeq"/> into DuckDB failed (it is retried).</summary>
    internal void ApplyFailed(Exception exception, long firstSeq, long lastSeq)
    {
        lock (_gate)
        {
            _applyFailure = new ApplyFailure(exception.Message.Trim(), _applyFailure?.Since ?? Time.GetUtcNow(), (_applyFailure?.Attempts ?? 0) + 1, firstSeq, lastSeq);
        }
    }

    /// <summary>An apply into DuckDB succeeded: ends a run of failed applies.</summary>
    internal void ApplySucceeded()
    {
        if (Volatile.Read(ref _applyFailure) is not null)
        {
            lock (_gate)
            {
                _applyFailure = null;
            }
        }
    }

    /// <summary>
    /// Why writes are refused for the rest of this process's life, or <see langword="null"/>: a derived store was found
    /// to hold events the journal lacks (<see cref="RefuseWrites"/>), and only a recovery (offline) can repair that.
    /// </summary>
    public string? WritesRefused => Volatile.Read(ref _writesRefused);

    /// <summary>
    /// Refuses every further write: a derived store holds events the journal lost, so a new write would reuse a seq it
    /// holds for another trade. Readiness turns unhealthy with <paramref name="reason"/>, which names the recover command.
    /// </summary>
    public void RefuseWrites(string reason) => Interlocked.CompareExchange(ref _writesRefused, reason, null);

    /// <summary>
    /// Completes once DuckDB invalidated the database (<see cref="ReportIfInvalidated"/>): nothing can be written into it
    /// again in this process. The write engine stops on it, and the server with it, so a restart reopens DuckDB and replays
    /// the journal log into it.
    /// </summary>
    public Task<DuckDbInvalidatedException> WhenInvalidated => _invalidated.Task;

    /// <summary>The first of DuckDB's FATAL errors met in this process, or <see langword="null"/>.</summary>
    public DuckDbInvalidatedException? Invalidated => _invalidated.Task.IsCompleted ? _invalidated.Task.Result : null;

    /// <summary>
    /// Whether <paramref name="exception"/> is DuckDB's FATAL error (the database instance is invalidated); if so records it
    /// (the first one is kept) and completes <see cref="WhenInvalidated"/>. Every user of DuckDB on the write path (the
    /// applier, the <c>trade_state</c> flusher, the writer's reads, readiness, <c>POST /v1/query</c>) reports what it meets.
    /// </summary>
    public bool ReportIfInvalidated(Exception exception)
    {
        if (DuckDbInvalidatedException.FatalErrorIn(exception) is not { } fatal)
        {
            return false;
        }

        _invalidated.TrySetResult(new DuckDbInvalidatedException(fatal));
        return true;
    }

    /// <summary>A batch failed to commit and was rolled back; logs it, or counts it for the next summary.</summary>
    public void CommitFailed(ILogger logger, Exception exception, int commandCount, int eventCount, long firstSeq, long lastSeq)
    {
        var now = Time.GetUtcNow();
        var cause = exception.Message.Trim();
        long summarised;
        bool first;
        DateTimeOffset since;
        lock (_gate)
        {
            first = _failure is null;
            since = _failure?.Since ?? now;
            _failure = new WriteFailure(cause, since, (_failure?.FailedBatches ?? 0) + 1);
            if (!first && now - _lastLogged < LogInterval)
            {
                _notLogged++;
                return;
            }

            summarised = _notLogged + 1;
            _notLogged = 0;
            _lastLogged = now;
        }

        if (first)
        {
            Log.CommitFailed(logger, exception, commandCount, eventCount, firstSeq, lastSeq);
        }
        else
        {
            Log.CommitsStillFailing(logger, summarised, (now - since).TotalSeconds, cause);
        }
    }

    /// <summary>A batch committed: ends a run of failures (logged once).</summary>
    public void CommitSucceeded(ILogger logger)
    {
        if (Volatile.Read(ref _failure) is not null)
        {
            Recovered(logger);
        }
    }

    /// <summary>A write that is not a commit of the engine succeeded (the readiness probe): the disk takes writes again.</summary>
    internal void Recovered(ILogger? logger)
    {
        WriteFailure? ended;
        lock (_gate)
        {
            ended = _failure;
            _failure = null;
            _notLogged = 0;
        }

        if (ended is not null && logger is not null)
        {
            Log.CommitsRecovered(logger, ended.FailedBatches, (Time.GetUtcNow() - ended.Since).TotalSeconds);
        }
    }
}
