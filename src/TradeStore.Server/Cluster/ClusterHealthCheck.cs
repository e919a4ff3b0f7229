using Microsoft.Extensions.Diagnostics.HealthChecks;
using TradeStore.Cluster;

namespace TradeStore.Server.Cluster;

/// <summary>
/// A cluster node's part of readiness: healthy while it leads or follows a known leader; degraded while it knows no
/// leader (etcd unreachable, an election under way), when its writes answer <c>503 no-leader</c> and its reads serve what
/// it holds. By design never unhealthy: the node still serves reads, and a load balancer that dropped every node during
/// an election would take reads down with writes.
/// </summary>
public sealed class ClusterHealthCheck(ClusterState state) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(state.Role switch
        {
            ClusterRole.Leader => HealthCheckResult.Healthy($"{state.NodeName} leads in term {state.Term}"),
            ClusterRole.Follower when state.Leader is { } leader => HealthCheckResult.Healthy($"{state.NodeName} follows {leader.Name} ({leader.Url}), term {leader.Term}"),
            _ => HealthCheckResult.Degraded($"{state.NodeName} knows no leader (etcd unreachable or an election under way): writes answer 503 no-leader; reads serve this node's data"),
        });
}
