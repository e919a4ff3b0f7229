using Microsoft.AspNetCore.Http;
using TradeStore.Server.Api;

namespace TradeStore.Server.Cluster;

/// <summary>The cluster's refusals, as RFC 7807 problems in the API's <c>urn:tradestore:problem:</c> family.</summary>
public static class ClusterProblems
{
    /// <summary>
    /// Seconds a client should wait before retrying a write that found no leader or lost it, or that too few followers
    /// acknowledged (<c>replication-unavailable</c>), or a read that found its seq not reached.
    /// </summary>
    public const int RetryAfterSeconds = 1;

    public static ApiProblem NoLeader() => new("urn:tradestore:problem:no-leader", "No leader", StatusCodes.Status503ServiceUnavailable,
        "No leader is known: the cluster is electing one (up to Cluster:LeaseTtl after a leader is lost), or this node cannot reach etcd. " +
        "Nothing was applied; retry after Retry-After seconds.", null, null, RetryAfterSeconds);

    public static ApiProblem LeadershipLost(long term) => new("urn:tradestore:problem:leadership-lost", "Leadership lost", StatusCodes.Status503ServiceUnavailable,
        $"This node's leadership (term {term}) could no longer be relied on when the command completed, so it is not acknowledged: it may or may not " +
        "survive the change of leader. Retry at the leader (GET /v1/cluster) with the same Idempotency-Key.", null, null, RetryAfterSeconds);

    public static ApiProblem EtcdUnavailable(string detail) => new("urn:tradestore:problem:etcd-unavailable", "etcd unavailable", StatusCodes.Status503ServiceUnavailable,
        $"The cluster status could not be read from etcd: {detail}", "Cluster:Etcd", null);
}
