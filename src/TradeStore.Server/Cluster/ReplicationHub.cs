using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using TradeStore.Cluster;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Engine;

namespace TradeStore.Server.Cluster;

/// <summary>
/// The leader's side of replication (issue #14), one per node: it keeps the most recent records in memory for the
/// followers' streams from the moment they are written to the log, before its fsync (older ones are read back from the
/// <see cref="JournalLog"/>), wakes the streams when a group was appended, collects the followers' acknowledgements
/// <c>{term, durableSeq}</c> per follower name and incarnation (<see cref="SyncMember"/>), and tells the <see cref="WriteEngine"/> when a group is held by
/// <see cref="ClusterOptions.SyncReplicas"/> followers. An acknowledgement of another term than the one this node leads
/// in is ignored: a stale leader can never collect the fsyncs a synchronous write needs. A sync member's acknowledgements
/// count only from its own incarnation: another process under the same name (a replaced disk, a misconfigured second
/// node) is a different follower here and never stands in for it.
/// </summary>
public sealed class ReplicationHub : IJournalReplication, ILeaderHandOver, IDisposable
{
    /// <summary>Records kept in memory for the streams; a follower further behind reads from the log files.</summary>
    public const int RecentCapacity = 1 << 16;

    /// <summary>How often a hand-over looks at the followers' acknowledgements.</summary>
    private static readonly TimeSpan HandOverPoll = TimeSpan.FromMilliseconds(5);

    private readonly ClusterOptions _options;
    private readonly ClusterState _state;
    private readonly JournalLog _log;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly LogRecord?[] _recent = new LogRecord?[RecentCapacity];
    private readonly ConcurrentDictionary<SyncMember, FollowerAck> _acks = new();
    private readonly List<Waiter> _waiters = [];
    private readonly Task<bool> _replicated = Task.FromResult(true);
    private readonly SyncReplicaSet _sync;
    private readonly ITimer _sweeper;
    private readonly ClusterMetrics? _metrics;
    private TaskCompletionSource _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _term;
    private long _mustHold;
    private long _written;
    private long _handingOver;

    public ReplicationHub(ClusterOptions options, ClusterState state, JournalLog log, SyncReplicaSet sync, TimeProvider? time = null, IMeterFactory? meterFactory = null,
        ClusterMetrics? metrics = null)
    {
        _options = options;
        _state = state;
        _log = log;
        _sync = sync;
        _metrics = metrics;
        _time = time ?? TimeProvider.System;
        _sync.Published += Release;
        // By design one timer for every waiting group: a timer per group cost one per replicated write at one connection.
        var sweep = SweepInterval(options.ReplicationTimeout);
        _sweeper = _time.CreateTimer(static hub => ((ReplicationHub)hub!).TimeOutExpired(), this, sweep, sweep);
        if (meterFactory is not null)
        {
            var meter = meterFactory.Create(ClusterMetrics.MeterName);
            meter.CreateObservableGauge("tradestore.replication.follower.lag", FollowerLags, "{event}",
                "On the leader, per follower: events of the leader's log beyond the follower's last acknowledged durable seq in this term.");
        }
    }

    /// <summary>
    /// The gauge <c>tradestore.replication.follower.lag</c>: for each follower that acknowledged in the term this node
    /// leads in, how many events of this log it does not hold yet; nothing on a follower. A follower whose stream ended
    /// is forgotten (<see cref="Forget"/>) and drops out.
    /// </summary>
    private IEnumerable<Measurement<long>> FollowerLags()
    {
        var leading = _state.HeldTerm;
        var last = _log.LastSeq;
        return leading == 0
            ? []
            : _acks.Where(a => a.Value.Term == leading)
                .Select(a => new Measurement<long>(Math.Max(0, last - a.Value.DurableSeq), new KeyValuePair<string, object?>("follower", a.Key.Name)));
    }

    /// <inheritdoc />
    public long Term => _state.HeldTerm;

    /// <summary>
    /// The last seq a stream can send: the last one written to the log, which may not be fsynced yet (the followers'
    /// fsyncs overlap the leader's, <see cref="Appended"/>).
    /// </summary>
    public long LastSeq => Math.Max(Volatile.Read(ref _written), _log.LastSeq);

    /// <summary>
    /// Whether a stream opened in <paramref name="term"/> goes on: this node leads in it, or it is handing over at
    /// shutdown (<see cref="HandOverAsync"/>: it acknowledges nothing, but its lease still holds the key).
    /// </summary>
    public bool Streams(long term) =>
        term != 0 && (_state.LeaderTerm == term || (Volatile.Read(ref _handingOver) == term && _state.HeldTerm == term));

    /// <inheritdoc />
    /// <remarks>
    /// The streams go on until the coordinator ends the term (<see cref="ClusterState.HeldTerm"/> becomes 0). By design
    /// polled: it runs once, at shutdown, for at most the coordinator's short bound.
    /// </remarks>
    public async Task<(long ThroughSeq, bool CaughtUp)> HandOverAsync(long term, TimeSpan timeout)
    {
        Volatile.Write(ref _handingOver, term);
        var through = LastSeq;
        var started = _time.GetTimestamp();
        while (true)
        {
            if (_acks.Values.All(ack => ack.Term != term || ack.DurableSeq >= through))
            {
                return (through, true);
            }

            if (_time.GetElapsedTime(started) >= timeout)
            {
                return (through, false);
            }

            await Task.Delay(HandOverPoll, _time);
        }
    }

    /// <summary>Every follower's last acknowledgement, by node name and incarnation.</summary>
    public IReadOnlyDictionary<SyncMember, FollowerAck> Acknowledgements => _acks;

    /// <summary>Completes at the next append; a stream awaits it when it has sent everything.</summary>
    public Task NextAppend => Volatile.Read(ref _appended).Task;

    /// <inheritdoc />
    public void Appended(IReadOnlyList<LogRecord> records)
    {
        foreach (var record in records)
        {
            Volatile.Write(ref _recent[record.Seq & (RecentCapacity - 1)], record);
        }

        Volatile.Write(ref _written, records[^1].Seq);
        Interlocked.Exchange(ref _appended, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>
    /// Whether <see cref="Read"/> answers <paramref name="fromSeq"/> from memory (or with nothing): no log file is read.
    /// </summary>
    public bool InMemory(long fromSeq) => fromSeq > LastSeq || Recent(fromSeq) is not null;

    /// <summary>
    /// Up to <paramref name="max"/> records from <paramref name="fromSeq"/>, from memory when they are still there, else
    /// from the log files. Empty when the log ends before <paramref name="fromSeq"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fromSeq"/> was recycled from the log.</exception>
    public List<LogRecord> Read(long fromSeq, int max)
    {
        var last = LastSeq;
        var result = new List<LogRecord>((int)Math.Clamp(last - fromSeq + 1, 0, max));
        for (var seq = fromSeq; seq <= last && result.Count < max; seq++)
        {
            if (Recent(seq) is not { } record)
            {
                break;
            }

            result.Add(record);
        }

        if (result.Count > 0 || fromSeq > last)
        {
            return result;
        }

        foreach (var record in _log.ReadFrom(fromSeq))
        {
            result.Add(record);
            if (result.Count == max)
            {
                break;
            }
        }

        return result;
    }

    /// <summary>The record <paramref name="seq"/> when memory still holds it, else <see langword="null"/>.</summary>
    private LogRecord? Recent(long seq) => Volatile.Read(ref _recent[seq & (RecentCapacity - 1)]) is { } record && record.Seq == seq ? record : null;

    /// <summary>
    /// Records a follower's acknowledgement; <see langword="false"/> (and ignored) when <paramref name="term"/> is not the
    /// term this node leads in. A seq the follower acknowledged before (it repeats its durable seq while idle, so that a
    /// dead acknowledgement request is noticed) is no progress: <see cref="FollowerAck.At"/> stays when it last grew, so a
    /// sync member that is behind and stuck is still replaced after half the replication timeout.
    /// </summary>
    public bool Acknowledge(SyncMember node, long term, long durableSeq)
    {
        var leading = _state.HeldTerm;
        if (term != leading || leading == 0)
        {
            return false;
        }

        var now = _time.GetUtcNow();
        _acks.AddOrUpdate(node, _ => new FollowerAck(term, durableSeq, now, now),
            (_, previous) => previous.Term == term && previous.DurableSeq >= durableSeq ? previous with { HeardAt = now } : new FollowerAck(term, durableSeq, now, now));
        ChooseSyncSet(term);
        Release(term);
        return true;
    }

    /// <summary>
    /// Keeps <see cref="ClusterOptions.SyncReplicas"/> members in the sync set of <paramref name="term"/>: a member whose
    /// stream ended or that has not acknowledged for half the replication timeout while behind is replaced by a follower
    /// that holds everything acknowledged so far (its durable seq is at least every seq released in this term and the log's
    /// end when the term began). The set is used only after etcd holds it (<see cref="SyncReplicaSet"/>).
    /// </summary>
    private void ChooseSyncSet(long term)
    {
        var needed = _options.SyncReplicas;
        if (needed == 0)
        {
            return;
        }

        var mustHold = MustHold(term);
        var now = _time.GetUtcNow();
        var last = _log.LastSeq;
        var members = _sync.MembersOf(term);
        var keep = members.Where(m => _acks.TryGetValue(m, out var ack) && ack.Term == term
            && (ack.DurableSeq >= last || now - ack.At < _options.ReplicationTimeout / 2)).ToList();
        if (keep.Count >= needed && keep.Count == members.Count)
        {
            return;
        }

        foreach (var (node, ack) in _acks.OrderByDescending(a => a.Value.DurableSeq))
        {
            if (keep.Count >= needed)
            {
                break;
            }

            // One incarnation per name: the sync record maps each name to one incarnation.
            if (ack.Term == term && ack.DurableSeq >= mustHold && !keep.Any(k => k.Name == node.Name))
            {
                keep.Add(node);
            }
        }

        if (keep.Count >= needed || keep.Count > members.Count)
        {
            _sync.Propose(term, keep);
        }
    }

    private long MustHold(long term)
    {
        lock (_gate)
        {
            if (_term != term)
            {
                _term = term;
                _mustHold = _log.LastSeq;
            }

            return _mustHold;
        }
    }

    /// <summary>
    /// How many followers (by name) can acknowledge the writes of <paramref name="term"/>: they acknowledged in it and were
    /// heard within <see cref="ReplicationFrames.DeadAfter"/> (an idle follower repeats its durable seq every second), and
    /// their stream has not ended. Fewer than <see cref="ClusterOptions.SyncReplicas"/> and every write answers
    /// <c>503 replication-unavailable</c> (<see cref="ClusterHealthCheck"/>).
    /// </summary>
    public int ConnectedFollowers(long term)
    {
        var now = _time.GetUtcNow();
        return _acks.Where(a => a.Value.Term == term && now - a.Value.HeardAt < ReplicationFrames.DeadAfter).Select(a => a.Key.Name).Distinct(StringComparer.Ordinal).Count();
    }

    /// <summary>Forgets a follower's acknowledgements (its stream ended); it counts again once it acknowledges anew.</summary>
    public void Forget(SyncMember node, long term)
    {
        if (_acks.TryGetValue(node, out var ack) && ack.Term == term)
        {
            _acks.TryRemove(new KeyValuePair<SyncMember, FollowerAck>(node, ack));
        }
    }

    /// <inheritdoc />
    public Task<bool> WaitReplicatedAsync(long seq, long term)
    {
        var needed = _options.SyncReplicas;
        if (needed == 0)
        {
            return _replicated;
        }

        if (term == 0 || term != _state.HeldTerm)
        {
            return Task.FromResult(false);
        }

        if (ReplicatedSeq(term) >= seq)
        {
            lock (_gate)
            {
                _mustHold = Math.Max(_mustHold, seq);
            }

            _metrics?.ReplicationWaited(TimeSpan.Zero);
            return _replicated;
        }

        var waiter = new Waiter(seq, term, _time.GetTimestamp());
        lock (_gate)
        {
            _waiters.Add(waiter);
        }

        // An acknowledgement may have arrived between the look and the registration.
        Release(term);
        return waiter.Completion.Task;
    }

    /// <summary>The highest seq that <see cref="ClusterOptions.SyncReplicas"/> followers acknowledged in <paramref name="term"/>.</summary>
    public long ReplicatedSeq(long term)
    {
        var needed = _options.SyncReplicas;
        var members = _sync.MembersOf(term);
        var seqs = members.Select(m => _acks.TryGetValue(m, out var ack) && ack.Term == term ? ack.DurableSeq : 0).OrderDescending().ToList();
        return seqs.Count >= needed && needed > 0 ? seqs[needed - 1] : needed == 0 ? long.MaxValue : 0;
    }

    private void Release(long term)
    {
        var replicated = ReplicatedSeq(term);
        List<Waiter>? done = null;
        lock (_gate)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                var waiter = _waiters[i];
                if (waiter.Term == term && waiter.Seq <= replicated)
                {
                    _mustHold = Math.Max(_mustHold, waiter.Seq);
                    (done ??= []).Add(waiter);
                    _waiters.RemoveAt(i);
                }
            }
        }

        if (done is not null)
        {
            var now = _time.GetTimestamp();
            foreach (var waiter in done)
            {
                _metrics?.ReplicationWaited(_time.GetElapsedTime(waiter.Since, now));
                waiter.Completion.TrySetResult(true);
            }
        }
    }

    /// <summary>How often waiting groups are checked for <see cref="ClusterOptions.ReplicationTimeout"/>: an eighth of it, 10 ms at least.</summary>
    internal static TimeSpan SweepInterval(TimeSpan timeout) => TimeSpan.FromTicks(Math.Max(timeout.Ticks / 8, TimeSpan.FromMilliseconds(10).Ticks));

    /// <summary>Answers <see langword="false"/> to every group that waited <see cref="ClusterOptions.ReplicationTimeout"/> or longer.</summary>
    private void TimeOutExpired()
    {
        List<Waiter>? expired = null;
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_time.GetElapsedTime(_waiters[i].Since, now) >= _options.ReplicationTimeout)
                {
                    (expired ??= []).Add(_waiters[i]);
                    _waiters.RemoveAt(i);
                }
            }
        }

        if (expired is not null)
        {
            foreach (var waiter in expired)
            {
                _metrics?.ReplicationWaited(_time.GetElapsedTime(waiter.Since, now));
                waiter.Completion.TrySetResult(false);
            }
        }
    }

    public void Dispose() => _sweeper.Dispose();

    private sealed class Waiter(long seq, long term, long since)
    {
        public long Seq { get; } = seq;

        public long Term { get; } = term;

        /// <summary>When the group began to wait (<see cref="TimeProvider.GetTimestamp"/>).</summary>
        public long Since { get; } = since;

        /// <summary>
        /// By design its continuation (the engine answering the group) runs on the thread that completes it: the one
        /// reading a follower's acknowledgements, never under the hub's lock. That saves a thread-pool hop per write.
        /// </summary>
        public TaskCompletionSource<bool> Completion { get; } = new();
    }
}

/// <summary>
/// A follower's last acknowledgement: its journal log holds every record up to <paramref name="DurableSeq"/>, fsynced;
/// <paramref name="At"/> is when that seq was first acknowledged (a repeat of it does not move it), <paramref name="HeardAt"/>
/// when the follower last acknowledged anything, a repeat included.
/// </summary>
public sealed record FollowerAck(long Term, long DurableSeq, DateTimeOffset At, DateTimeOffset HeardAt);
