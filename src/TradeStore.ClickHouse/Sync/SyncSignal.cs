using TradeStore.Core.Trades;

namespace TradeStore.ClickHouse.Sync;

/// <summary>
/// The WriteEngine's commit notification for the ClickHouse sync: remembers the highest committed <c>seq</c> and
/// the time the oldest unsynced event was recorded, and wakes the daemon at once. Never blocks the writer.
/// </summary>
public sealed class SyncSignal : ICommitObserver
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _wake = NewWake();
    private long _lastCommittedSeq;
    private long _syncedSeq;
    private DateTimeOffset? _oldestUnsyncedRecordedAt;

    /// <summary>The highest <c>seq</c> known to be committed to the journal.</summary>
    public long LastCommittedSeq
    {
        get
        {
            lock (_lock)
            {
                return _lastCommittedSeq;
            }
        }
    }

    /// <summary>
    /// A task that completes at the next commit. Take it <em>before</em> checking for work, so a commit that
    /// lands between the check and the wait is not missed.
    /// </summary>
    public Task NextCommit => Volatile.Read(ref _wake).Task;

    public void OnCommitted(IReadOnlyList<TradeEvent> events)
    {
        if (events.Count == 0)
        {
            return;
        }

        Observe(events[^1].Seq, events[0].RecordedAt);
    }

    /// <summary>Records that the journal holds events up to <paramref name="lastSeq"/>; <paramref name="firstRecordedAt"/> is the time of the earliest of them.</summary>
    public void Observe(long lastSeq, DateTimeOffset? firstRecordedAt)
    {
        lock (_lock)
        {
            if (lastSeq <= _lastCommittedSeq)
            {
                return;
            }

            if (_lastCommittedSeq <= _syncedSeq && firstRecordedAt is { } first)
            {
                _oldestUnsyncedRecordedAt = first; // was caught up: these are the oldest unsynced events now
            }

            _lastCommittedSeq = lastSeq;
        }

        Interlocked.Exchange(ref _wake, NewWake()).TrySetResult();
    }

    /// <summary>
    /// Records that ClickHouse holds everything up to <paramref name="syncedSeq"/>. <paramref name="oldestUnsyncedBound"/>
    /// is the recorded time of the next unsynced event, or an earlier time that bounds it (the last synced event's):
    /// lag is reported from it, so it may overstate, never understate.
    /// </summary>
    public void MarkSynced(long syncedSeq, DateTimeOffset? oldestUnsyncedBound)
    {
        lock (_lock)
        {
            _syncedSeq = syncedSeq;
            _oldestUnsyncedRecordedAt = syncedSeq >= _lastCommittedSeq ? null : oldestUnsyncedBound ?? _oldestUnsyncedRecordedAt;
        }
    }

    /// <summary>Events behind and the recorded time of the oldest unsynced one (<see langword="null"/> when caught up).</summary>
    public (long Behind, DateTimeOffset? OldestUnsyncedRecordedAt) Backlog()
    {
        lock (_lock)
        {
            var behind = Math.Max(0, _lastCommittedSeq - _syncedSeq);
            return (behind, behind == 0 ? null : _oldestUnsyncedRecordedAt);
        }
    }

    /// <summary>
    /// Age in seconds, at <paramref name="now"/>, of the oldest event not yet in ClickHouse; 0 when caught up. An upper
    /// bound (see <see cref="MarkSynced"/>). Unlike the lag histogram, which only measures events that were delivered,
    /// it keeps growing while nothing is delivered (ClickHouse away), which is when it matters.
    /// </summary>
    public double PendingAge(DateTimeOffset now) => AgeAt(Backlog().OldestUnsyncedRecordedAt, now);

    /// <summary>Seconds from <paramref name="oldestUnsyncedRecordedAt"/> (of <see cref="Backlog"/>) to <paramref name="now"/>; 0 when there is none.</summary>
    public static double AgeAt(DateTimeOffset? oldestUnsyncedRecordedAt, DateTimeOffset now) =>
        oldestUnsyncedRecordedAt is { } oldest ? Math.Max(0, (now - oldest).TotalSeconds) : 0;

    private static TaskCompletionSource NewWake() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
