using System.Text.Json;
using System.Text.Json.Serialization;

namespace TradeStore.Cluster;

/// <summary>The value of the leader key: who leads and where to send its writes. The term is the key's create revision, not stored.</summary>
public sealed record LeaderRecord(string Name, string Url);

/// <summary>The value of a node's registry key, kept alive by the node's lease and refreshed as its applied seq moves.</summary>
public sealed record NodeRecord(string Name, string Url, long AppliedSeq, TruncatedRange? TruncatedSeq = null);

/// <summary>The journal records a node cut from its log when it rejoined as follower (issue #14): seq <paramref name="From"/> to <paramref name="To"/>.</summary>
public sealed record TruncatedRange(long From, long To);

/// <summary>
/// The value of the <c>sync</c> key (issue #14, <c>Cluster:SyncReplicas</c> ≥ 1): the leader of <paramref name="Term"/> and
/// the followers whose acknowledgements it counts. Written by the leader (guarded by its term) before it counts them,
/// and not on a lease, so it outlives the leader: only a node it names holds every acknowledged record, so only such a
/// node may campaign.
/// </summary>
public sealed record SyncRecord(long Term, string Leader, IReadOnlyList<string> Members)
{
    /// <summary>Whether <paramref name="node"/> holds every record acknowledged under this record.</summary>
    public bool Names(string node) => Leader == node || Members.Contains(node);
}

/// <summary>One node as <c>GET /v1/cluster</c> and <c>tradestore cluster status</c> show it.</summary>
/// <param name="Role"><c>leader</c> or <c>follower</c>.</param>
/// <param name="LagSeq">How many events the node trails the leader by; <see langword="null"/> when no leader is known.</param>
/// <param name="TruncatedSeq">The tail the node cut from its journal log at its last start, when it rejoined with records the leader never had; else <see langword="null"/>.</param>
public sealed record ClusterNodeStatus(string Name, string Url, string Role, long AppliedSeq, long? LagSeq, TruncatedRange? TruncatedSeq = null);

/// <summary>The cluster as etcd shows it: the leader (<see langword="null"/> when none), its term, and every live node.</summary>
public sealed record ClusterStatus(string? Leader, long Term, IReadOnlyList<ClusterNodeStatus> Nodes);

/// <summary>Etcd keys of one cluster, under <see cref="ClusterOptions.KeyPrefix"/>.</summary>
public sealed class ClusterKeys(string prefix)
{
    /// <summary>Created by the leader with a transaction that succeeds only when it does not exist; attached to the leader's lease.</summary>
    public string Leader { get; } = prefix + "leader";

    /// <summary>The synchronous replicas of the latest leader (<see cref="SyncRecord"/>); not on a lease.</summary>
    public string Sync { get; } = prefix + "sync";

    /// <summary>Prefix of the node registry.</summary>
    public string Nodes { get; } = prefix + "nodes/";

    public string Node(string name) => Nodes + name;
}

/// <summary>Source-generated JSON for the etcd values and the status.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.Never, WriteIndented = false)]
[JsonSerializable(typeof(LeaderRecord))]
[JsonSerializable(typeof(NodeRecord))]
[JsonSerializable(typeof(SyncRecord))]
[JsonSerializable(typeof(ClusterStatus))]
public sealed partial class ClusterJson : JsonSerializerContext;
