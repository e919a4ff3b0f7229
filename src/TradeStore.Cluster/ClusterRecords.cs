using System.Text.Json;
using System.Text.Json.Serialization;

namespace TradeStore.Cluster;

/// <summary>
/// The value of the leader key: who leads and where to send its writes. The term is the key's create revision plus
/// <paramref name="TermBase"/>, which is 0 (and not written) unless etcd's revision was found below a term in a node's
/// journal log: an etcd started over empty, or restored from an older snapshot (<see cref="EtcdClusterStore.CampaignGuardedAsync"/>).
/// </summary>
/// <param name="TermBase">Added to the create revision to give the term: the <c>term-base</c> key when this leader was elected.</param>
public sealed record LeaderRecord(string Name, string Url, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] long TermBase = 0);

/// <summary>The value of a node's registry key, kept alive by the node's lease and refreshed as its applied seq moves.</summary>
/// <param name="Incarnation">The identity of the node's data directory (<see cref="NodeIncarnation"/>); <see langword="null"/> from a version before it.</param>
public sealed record NodeRecord(string Name, string Url, long AppliedSeq, TruncatedRange? TruncatedSeq = null, string? Incarnation = null);

/// <summary>
/// The identity of this node's data directory: a random id created once with the directory and kept in it (the file
/// <c>incarnation</c> beside the journal log). A node that restarts on an empty directory has the same name but a new
/// incarnation, and a second process started under an existing name has another one too.
/// </summary>
/// <param name="Id">32 hex digits.</param>
/// <param name="Adopted">The id was given to a directory that already held a journal log (one from before incarnations existed).</param>
public sealed record NodeIncarnation(string Id, bool Adopted)
{
    /// <summary>A new random incarnation kept nowhere: for a node without a data directory (the coordinator's own tests).</summary>
    public static NodeIncarnation Ephemeral() => new(Guid.NewGuid().ToString("N"), false);
}

/// <summary>A node of the sync set: its name and the incarnation whose acknowledgements were counted.</summary>
public sealed record SyncMember(string Name, string Incarnation);

/// <summary>The journal records a node cut from its log when it rejoined as follower (issue #14): seq <paramref name="From"/> to <paramref name="To"/>.</summary>
public sealed record TruncatedRange(long From, long To);

/// <summary>
/// The value of the <c>sync</c> key (issue #14, <c>Cluster:SyncReplicas</c> ≥ 1): the leader of <paramref name="Term"/> and
/// the followers whose acknowledgements it counts. Written by the leader (guarded by its term) before it counts them,
/// and not on a lease, so it outlives the leader: only a node it names holds every acknowledged record, so only such a
/// node may campaign.
/// </summary>
/// <param name="Incarnations">
/// The incarnation of the leader and of each member, by name (issue #14: a name alone also matches a node that restarted
/// on an empty disk). By design a map beside the names rather than objects in their place: a record keeps the shape an
/// earlier version reads, so a rolling upgrade (followers first) keeps working. <see langword="null"/> in a record
/// written by such a version.
/// </param>
public sealed record SyncRecord(long Term, string Leader, IReadOnlyList<string> Members, IReadOnlyDictionary<string, string>? Incarnations = null)
{
    /// <summary>The record of <paramref name="leader"/> and <paramref name="members"/>, names and incarnations.</summary>
    public static SyncRecord Of(long term, SyncMember leader, IReadOnlyList<SyncMember> members) => new(term, leader.Name, [.. members.Select(m => m.Name)],
        members.Append(leader).ToDictionary(m => m.Name, m => m.Incarnation, StringComparer.Ordinal));

    /// <summary>
    /// Whether the node <paramref name="name"/> with <paramref name="incarnation"/> holds every record acknowledged under
    /// this record: it is named (leader or member) <em>with that incarnation</em>. A record without incarnations (written by
    /// an earlier version) matches the name only for an <see cref="NodeIncarnation.Adopted"/> incarnation: by design, since
    /// such a directory predates the record's version and may be the one it names, while a directory that started empty
    /// after the upgrade cannot be; refusing every name instead would leave a cluster upgraded under such a record
    /// without any node allowed to lead.
    /// </summary>
    public bool Holds(string name, NodeIncarnation incarnation)
    {
        if (Leader != name && !Members.Contains(name))
        {
            return false;
        }

        return Incarnations is null
            ? incarnation.Adopted
            : Incarnations.TryGetValue(name, out var id) && string.Equals(id, incarnation.Id, StringComparison.Ordinal);
    }

    /// <summary>The named nodes as <c>name@incarnation</c> (the incarnation's first 8 digits), for messages.</summary>
    public string Describe() => string.Join(",", new[] { Leader }.Concat(Members)
        .Select(n => Incarnations is not null && Incarnations.TryGetValue(n, out var id) ? $"{n}@{id[..Math.Min(8, id.Length)]}" : n));
}

/// <summary>
/// The value of the <c>history</c> key: the cluster has held records. Written by a leader once per term, the first time its
/// log holds a record (at the refresh after it won, or after its first write), guarded by its term, and not on a lease, so
/// it outlives every node. While it exists a node whose log holds no record does not campaign: with
/// <c>Cluster:SyncReplicas</c> 0 nothing else stops a node restarted on an empty disk from leading while the nodes with
/// data are down, and every one of them would then cut its whole log as a tail the new leader never had.
/// </summary>
/// <param name="Term">The term of the leader that wrote it.</param>
/// <param name="Leader">That leader's name.</param>
/// <param name="Seq">The last seq of that leader's log when it wrote the key (for messages; the rule only asks whether the key exists).</param>
public sealed record HistoryRecord(long Term, string Leader, long Seq);

/// <summary>
/// The value of a node's member key (<c>{KeyPrefix}members/{name}</c>): the node joined the cluster. By design not on a
/// lease, unlike the registry entry: a member whose lease ended is still listed (<c>stopped</c> or <c>unreachable</c>)
/// instead of vanishing, so an operator sees that a node is missing. Written when the node registers, every
/// <see cref="ClusterCoordinator.MemberRefreshInterval"/> after that, and when it leaves at shutdown; deleted only by
/// <c>tradestore cluster forget</c> (<see cref="EtcdClusterStore.ForgetMemberAsync"/>).
/// </summary>
/// <param name="AppliedSeq">The node's applied seq when it wrote the record.</param>
/// <param name="FirstJoined">When the node first registered under this name (kept across restarts until it is forgotten).</param>
/// <param name="LastSeen">When the node last wrote the record, by its own clock.</param>
/// <param name="Stopped">The node wrote the record as it left the cluster at shutdown.</param>
public sealed record MemberRecord(string Name, string Url, string? Incarnation, long AppliedSeq, DateTimeOffset FirstJoined, DateTimeOffset LastSeen, bool Stopped);

/// <summary>One node as <c>GET /v1/cluster</c> and <c>tradestore cluster status</c> show it.</summary>
/// <param name="Role">
/// <c>leader</c> or <c>follower</c> for a node with a live registration, <c>candidate</c> for one while no node leads (an
/// election under way, or every node unfit to lead); for a member without one (<see cref="MemberRecord"/>),
/// <c>stopped</c> when it left at shutdown, else <c>unreachable</c> (its lease expired: killed, crashed, paused, or cut off from etcd).
/// </param>
/// <param name="AppliedSeq">The node's applied seq; for a stopped or unreachable member, as of <paramref name="LastSeen"/>.</param>
/// <param name="LagSeq">How many events the node trails the leader by; <see langword="null"/> when no leader is known, and for a stopped or unreachable member.</param>
/// <param name="TruncatedSeq">The tail the node cut from its journal log at its last start, when it rejoined with records the leader never had; else <see langword="null"/>.</param>
/// <param name="LastSeen">For a stopped or unreachable member: when it last wrote its member record (by its own clock); <see langword="null"/> for a live node.</param>
public sealed record ClusterNodeStatus(string Name, string Url, string Role, long AppliedSeq, long? LagSeq, TruncatedRange? TruncatedSeq = null, DateTimeOffset? LastSeen = null)
{
    public const string LeaderRole = "leader";
    public const string FollowerRole = "follower";
    public const string CandidateRole = "candidate";
    public const string StoppedRole = "stopped";
    public const string UnreachableRole = "unreachable";

    /// <summary>Whether the node holds a live registration (it is <c>leader</c>, <c>follower</c> or <c>candidate</c>).</summary>
    [JsonIgnore]
    public bool IsLive => Role is LeaderRole or FollowerRole or CandidateRole;
}

/// <summary>
/// The cluster as etcd shows it: the leader (<see langword="null"/> when none), its term, every live node, and every
/// member that joined, was not forgotten and has no live registration now (role <c>stopped</c> or <c>unreachable</c>).
/// </summary>
public sealed record ClusterStatus(string? Leader, long Term, IReadOnlyList<ClusterNodeStatus> Nodes)
{
    /// <summary>The members without a live registration.</summary>
    [JsonIgnore]
    public IReadOnlyList<ClusterNodeStatus> Missing => [.. Nodes.Where(n => !n.IsLive)];
}

/// <summary>What <see cref="EtcdClusterStore.ForgetMemberAsync"/> did.</summary>
public enum ForgetOutcome
{
    /// <summary>The member key was deleted.</summary>
    Forgotten,

    /// <summary>Refused: the node holds a live registration (its lease is alive); stop it first.</summary>
    Live,

    /// <summary>No member key has that name.</summary>
    NotAMember,
}

/// <summary>Etcd keys of one cluster, under <see cref="ClusterOptions.KeyPrefix"/>.</summary>
public sealed class ClusterKeys(string prefix)
{
    /// <summary>Created by the leader with a transaction that succeeds only when it does not exist; attached to the leader's lease.</summary>
    public string Leader { get; } = prefix + "leader";

    /// <summary>The synchronous replicas of the latest leader (<see cref="SyncRecord"/>); not on a lease.</summary>
    public string Sync { get; } = prefix + "sync";

    /// <summary>That the cluster has held records (<see cref="HistoryRecord"/>); not on a lease.</summary>
    public string History { get; } = prefix + "history";

    /// <summary>
    /// What is added to the leader key's create revision to give the term (<see cref="LeaderRecord.TermBase"/>), as a
    /// decimal number; absent (0) unless an etcd whose revision is below a term in a node's log was found. Not on a lease, only grows.
    /// </summary>
    public string TermBase { get; } = prefix + "term-base";

    /// <summary>Prefix of the node registry.</summary>
    public string Nodes { get; } = prefix + "nodes/";

    public string Node(string name) => Nodes + name;

    /// <summary>Prefix of the member keys (<see cref="MemberRecord"/>); not on a lease.</summary>
    public string Members { get; } = prefix + "members/";

    public string Member(string name) => Members + name;
}

/// <summary>Source-generated JSON for the etcd values and the status.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.Never, WriteIndented = false)]
[JsonSerializable(typeof(LeaderRecord))]
[JsonSerializable(typeof(NodeRecord))]
[JsonSerializable(typeof(MemberRecord))]
[JsonSerializable(typeof(SyncRecord))]
[JsonSerializable(typeof(HistoryRecord))]
[JsonSerializable(typeof(ClusterStatus))]
public sealed partial class ClusterJson : JsonSerializerContext;
