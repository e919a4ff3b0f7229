using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using TradeStore.Cluster;

namespace TradeStore.Server.Cluster;

/// <summary>
/// A cluster node's part of readiness: healthy while it leads or follows a known leader; degraded while it knows no
/// leader (etcd unreachable, an election under way), when its writes answer <c>503 no-leader</c> and its reads serve what
/// it holds; degraded too while it leads with <see cref="ClusterOptions.SyncReplicas"/> ≥ 1 but fewer followers can
/// acknowledge its writes (<see cref="ReplicationHub.ConnectedFollowers"/>), when every write answers
/// <c>503 replication-unavailable</c>; then it names the followers that stream without an incarnation
/// (<see cref="UnidentifiedFollowers"/>: older builds whose acknowledgements never count). By design never unhealthy: the node still serves reads, and a load balancer that
/// dropped every node during an election would take reads down with writes.
/// </summary>
public sealed class ClusterHealthCheck(ClusterState state, IOptions<ClusterOptions> options, ReplicationHub hub, UnidentifiedFollowers unidentified) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(state.Role switch
        {
            ClusterRole.Leader => Leading(),
            ClusterRole.Follower when state.WriteTarget is { } leader => HealthCheckResult.Healthy($"{state.NodeName} follows {leader.Name} ({leader.Url}), term {leader.Term}"),
            _ => HealthCheckResult.Degraded($"{state.NodeName} knows no leader (etcd unreachable or an election under way): writes answer 503 no-leader; reads serve this node's data"),
        });

    private HealthCheckResult Leading()
    {
        var term = state.Term;
        var needed = options.Value.SyncReplicas;
        if (needed == 0)
        {
            return HealthCheckResult.Healthy($"{state.NodeName} leads in term {term}");
        }

        var connected = hub.ConnectedFollowers(term);
        if (connected < needed)
        {
            var older = unidentified.In(term);
            var why = older.Count == 0
                ? ""
                : $"; streaming from it without a data-directory identity, so never counted (builds from before 2026-12-02: upgrade them, event 1319): {string.Join(", ", older)}";
            return HealthCheckResult.Degraded($"{state.NodeName} leads in term {term} but has {connected} synchronous follower(s) connected and needs {needed} (Cluster:SyncReplicas): " +
                $"every write answers 503 replication-unavailable until enough followers stream from it{why}");
        }

        return HealthCheckResult.Healthy($"{state.NodeName} leads in term {term}; {connected} synchronous follower(s) connected, {needed} needed (Cluster:SyncReplicas)");
    }
}
