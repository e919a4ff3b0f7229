using Microsoft.Extensions.Logging;

namespace TradeStore.Cluster;

/// <summary>
/// The leader's synchronous replicas with <see cref="ClusterOptions.SyncReplicas"/> ≥ 1 (issue #14; the design Patroni
/// uses on etcd): the followers whose acknowledgements a write waits for. A set is written to the <c>sync</c> key
/// (guarded by the leader's term) <em>before</em> it is used, and the key outlives the leader, so after a failover only
/// a node it names (which holds every acknowledged record) may campaign (<see cref="ClusterCoordinator"/>). Members are
/// name and incarnation (<see cref="SyncMember"/>): the acknowledgements counted are those of that data directory, and
/// only that directory may campaign, not a process that later starts under the same name on another one.
/// </summary>
public sealed class SyncReplicaSet
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(2);

    private readonly EtcdClusterStore _store;
    private readonly ClusterState _state;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private long _term;
    private IReadOnlyList<SyncMember> _members = [];
    private long _wantedTerm;
    private IReadOnlyList<SyncMember> _wanted = [];
    private bool _publishing;

    public SyncReplicaSet(EtcdClusterStore store, ClusterState state, ILogger<SyncReplicaSet> logger, TimeProvider? time = null)
    {
        _store = store;
        _state = state;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Raised after a new set was written to etcd and may be counted.</summary>
    public event Action<long>? Published;

    /// <summary>The members written to etcd for <paramref name="term"/> (empty when none yet).</summary>
    public IReadOnlyList<SyncMember> MembersOf(long term)
    {
        lock (_gate)
        {
            return _term == term ? _members : [];
        }
    }

    /// <summary>
    /// Asks for <paramref name="members"/> to become the set of <paramref name="term"/>: written to etcd in the
    /// background, one write at a time. By design nothing asked for is dropped: a proposal made while another set is
    /// being written is written next (the latest one wins), and a write that fails or that etcd refuses is logged and
    /// tried again, backing off from 200 ms to 2 s, for as long as this node holds <paramref name="term"/> and nothing
    /// newer was proposed: a proposal dropped silently once left a lone write waiting for a set nobody wrote.
    /// </summary>
    public void Propose(long term, IReadOnlyList<SyncMember> members)
    {
        lock (_gate)
        {
            var changed = _wantedTerm != term || !Same(_wanted, members);
            if (changed)
            {
                _wantedTerm = term;
                _wanted = [.. members];
            }

            if (_publishing)
            {
                // The running write takes it next; said once per new proposal, not at every acknowledgement.
                if (changed)
                {
                    Log.SyncQueued(_logger, term, Describe(members));
                }

                return;
            }

            if (_term == term && Same(_members, members))
            {
                return;
            }

            _publishing = true;
        }

        _ = PublishAsync();
    }

    /// <summary>Writes the wanted set until etcd holds it, it is no longer wanted, or this node no longer holds its term.</summary>
    private async Task PublishAsync()
    {
        var delay = EtcdRetry.FirstDelay;
        while (true)
        {
            long term;
            IReadOnlyList<SyncMember> members;
            lock (_gate)
            {
                term = _wantedTerm;
                members = _wanted;
                if ((_term == term && Same(_members, members)) || term != _state.HeldTerm)
                {
                    _publishing = false;
                    return;
                }
            }

            var published = false;
            try
            {
                using var timeout = new CancellationTokenSource(PublishTimeout, _time);
                published = await _store.PublishSyncAsync(SyncRecord.Of(term, _state.Self, members), timeout.Token).ConfigureAwait(false);
                if (!published)
                {
                    Log.SyncRefused(_logger, term, Describe(members), delay);
                }
            }
            catch (Exception ex) when (EtcdClusterStore.IsEtcdFailure(ex))
            {
                Log.SyncPublishFailed(_logger, ex, term, Describe(members), delay);
            }

            if (published)
            {
                lock (_gate)
                {
                    _term = term;
                    _members = members;
                }

                delay = EtcdRetry.FirstDelay;
                Log.SyncPublished(_logger, term, Describe(members));
                Published?.Invoke(term);
                continue;
            }

            await Task.Delay(delay, _time).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, EtcdRetry.MaxDelay.Ticks));
        }
    }

    private static bool Same(IReadOnlyList<SyncMember> a, IReadOnlyList<SyncMember> b) => a.Count == b.Count && !a.Except(b).Any();

    private static string Describe(IReadOnlyList<SyncMember> members) =>
        string.Join(",", members.Select(m => $"{m.Name}@{m.Incarnation[..Math.Min(8, m.Incarnation.Length)]}"));
}
