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
    private readonly EtcdClusterStore _store;
    private readonly ClusterState _state;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private long _term;
    private IReadOnlyList<SyncMember> _members = [];
    private bool _publishing;

    public SyncReplicaSet(EtcdClusterStore store, ClusterState state, ILogger<SyncReplicaSet> logger)
    {
        _store = store;
        _state = state;
        _logger = logger;
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
    /// background (one write at a time; a proposal while one runs is dropped and made again at the next acknowledgement).
    /// </summary>
    public void Propose(long term, IReadOnlyList<SyncMember> members)
    {
        lock (_gate)
        {
            if (_publishing || (_term == term && _members.Count == members.Count && !_members.Except(members).Any()))
            {
                return;
            }

            _publishing = true;
        }

        _ = PublishAsync(term, [.. members]);
    }

    private async Task PublishAsync(long term, IReadOnlyList<SyncMember> members)
    {
        var published = false;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            published = await _store.PublishSyncAsync(SyncRecord.Of(term, _state.Self, members), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (EtcdClusterStore.IsEtcdFailure(ex))
        {
            Log.SyncPublishFailed(_logger, ex, term);
        }
        finally
        {
            lock (_gate)
            {
                _publishing = false;
                if (published)
                {
                    _term = term;
                    _members = members;
                }
            }
        }

        if (published)
        {
            Log.SyncPublished(_logger, term, string.Join(",", members.Select(m => $"{m.Name}@{m.Incarnation[..Math.Min(8, m.Incarnation.Length)]}")));
            Published?.Invoke(term);
        }
    }
}
