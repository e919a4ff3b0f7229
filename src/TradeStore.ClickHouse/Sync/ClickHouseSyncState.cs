using Microsoft.Extensions.Options;
using TradeStore.Core.Options;

namespace TradeStore.ClickHouse.Sync;

/// <summary>The live state of the sync daemon, shared with readiness and the status file. Thread-safe.</summary>
public sealed class ClickHouseSyncState(SyncSignal signal, IOptions<ClickHouseOptions> options, TimeProvider timeProvider)
{
    private readonly Lock _lock = new();
    private readonly ClickHouseOptions _options = options.Value;
    private long _checkpoint;
    private string? _checkpointSource;
    private long? _clickHouseMaxSeq;
    private DateTimeOffset? _lastSyncAt;
    private string? _lastError;
    private string? _lastErrorKind;
    private DateTimeOffset? _lastErrorAt;
    private DateTimeOffset? _failingSince;
    private int _consecutiveFailures;
    private TimeSpan? _retryDelay;
    private int _batchSize;
    private bool _running;

    public TimeSpan DegradedLag => _options.Sync.DegradedLag;

    /// <summary>
    /// Whether the sync daemon runs in this process now (from its start to the end of its final flush). On a cluster it
    /// runs only while the node leads: a follower's journal grows while nothing here syncs it, and the leader's sync
    /// is the one that counts.
    /// </summary>
    public bool Running
    {
        get
        {
            lock (_lock)
            {
                return _running;
            }
        }
    }

    /// <summary>Committed events not known to be in ClickHouse, for the metrics: 0 while the daemon does not run here (<see cref="Running"/>).</summary>
    public long EventsBehind() => Running ? signal.Backlog().Behind : 0;

    /// <summary>Age in seconds of the oldest event not yet in ClickHouse, for the metrics: 0 while the daemon does not run here.</summary>
    public double PendingAge() => Running ? signal.PendingAge(timeProvider.GetUtcNow()) : 0;

    public void OnStarted(int batchSize)
    {
        lock (_lock)
        {
            _running = true;
            _batchSize = batchSize;
        }
    }

    public void OnStopped()
    {
        lock (_lock)
        {
            _running = false;
        }
    }

    /// <summary>
    /// At start, before ClickHouse has answered: <paramref name="checkpoint"/> is DuckDB's copy of the checkpoint, the last
    /// seq known to be in ClickHouse. Without it the status said "sync at seq 0" for as long as ClickHouse stayed away
    /// after a restart.
    /// </summary>
    public void OnCheckpointMirrorRead(long checkpoint)
    {
        lock (_lock)
        {
            if (_checkpointSource is null)
            {
                _checkpoint = checkpoint;
                _checkpointSource = SyncStatus.FromDuckDb;
            }
        }
    }

    public void OnPositionResolved(long checkpoint, long clickHouseMaxSeq)
    {
        lock (_lock)
        {
            _checkpoint = checkpoint;
            _checkpointSource = SyncStatus.FromClickHouse;
            _clickHouseMaxSeq = clickHouseMaxSeq;
        }
    }

    /// <summary>
    /// A batch reached ClickHouse (or an attempt found nothing to send) and the checkpoint is <paramref name="checkpoint"/>.
    /// Returns how long the sync had been failing until now, or <see langword="null"/> when it had not.
    /// </summary>
    public TimeSpan? OnSynced(long checkpoint, int batchSize)
    {
        lock (_lock)
        {
            TimeSpan? recovered = _consecutiveFailures > 0 ? timeProvider.GetUtcNow() - (_failingSince ?? timeProvider.GetUtcNow()) : null;
            _checkpoint = checkpoint;
            _checkpointSource = SyncStatus.FromClickHouse;
            _clickHouseMaxSeq = Math.Max(_clickHouseMaxSeq ?? 0, checkpoint);
            _lastSyncAt = timeProvider.GetUtcNow();
            _consecutiveFailures = 0;
            _failingSince = null;
            _retryDelay = null;
            _batchSize = batchSize;
            return recovered;
        }
    }

    public void OnFailure(string kind, string message, TimeSpan retryDelay, int batchSize)
    {
        lock (_lock)
        {
            var now = timeProvider.GetUtcNow();
            _lastError = message;
            _lastErrorKind = kind;
            _lastErrorAt = now;
            _failingSince ??= now;
            _consecutiveFailures++;
            _retryDelay = retryDelay;
            _batchSize = batchSize;
        }
    }

    public SyncStatus Snapshot()
    {
        var (behind, oldest) = signal.Backlog();
        var now = timeProvider.GetUtcNow();
        lock (_lock)
        {
            return new SyncStatus
            {
                ClickHouseUrl = Core.Security.UrlRedaction.Redact(_options.BaseUri.GetLeftPart(UriPartial.Authority)),
                ClickHouseDatabase = _options.Database,
                Checkpoint = _checkpoint,
                CheckpointSource = _checkpointSource,
                JournalLastSeq = signal.LastCommittedSeq,
                EventsBehind = behind,
                LagSeconds = SyncSignal.AgeAt(oldest, now),
                ClickHouseMaxSeq = _clickHouseMaxSeq,
                LastSyncAt = _lastSyncAt,
                LastError = _lastError,
                LastErrorKind = _lastErrorKind,
                LastErrorAt = _lastErrorAt,
                ConsecutiveFailures = _consecutiveFailures,
                FailingSince = _failingSince,
                RetryDelaySeconds = _retryDelay?.TotalSeconds,
                BatchSize = _batchSize,
                Running = _running,
                ProcessId = Environment.ProcessId,
                UpdatedAt = now,
            };
        }
    }
}
