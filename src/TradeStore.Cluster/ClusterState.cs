namespace TradeStore.Cluster;

/// <summary>The role of a node in the cluster.</summary>
public enum ClusterRole
{
    /// <summary>No leader is known, or this node holds the leader key but its lease can no longer be relied on.</summary>
    Candidate,

    /// <summary>Another node leads; writes go there.</summary>
    Follower,

    /// <summary>This node holds the leader key on a lease it can rely on: it acknowledges writes.</summary>
    Leader,
}

/// <summary>The node that holds the leader key, and its term: the key's etcd create revision, which only grows.</summary>
public sealed record LeaderInfo(string Name, string Url, long Term);

/// <summary>
/// What this node knows about the cluster right now: who leads, in which term, and whether this node may
/// acknowledge writes. Written by <see cref="ClusterCoordinator"/>, read on every write request.
/// By design <see cref="IsLeader"/> is computed at each read from the <see cref="LeaseClock"/>, not stored:
/// a leader stops acknowledging the moment its lease may no longer be relied on, even if no code ran since.
/// </summary>
/// <param name="incarnation">The identity of this node's data directory; a new ephemeral one when not given (a node without a directory, in tests).</param>
public sealed class ClusterState(ClusterOptions options, LeaseClock clock, NodeIncarnation? incarnation = null)
{
    private readonly Lock _lock = new();
    private LeaderInfo? _leader;
    private long _heldTerm;
    private long _givenUpTerm;
    private bool _wasLeader;

    /// <summary>Raised (on the coordinator's thread) when the leader, the term or this node's role may have changed.</summary>
    public event Action? Changed;

    public string NodeName { get; } = options.Node!;

    public string AdvertiseUrl { get; } = options.AdvertiseUrl!.TrimEnd('/');

    /// <summary>The identity of this node's data directory, registered with the name and named in the sync set.</summary>
    public NodeIncarnation Incarnation { get; } = incarnation ?? NodeIncarnation.Ephemeral();

    /// <summary>This node as a member of a sync set: its name and incarnation.</summary>
    public SyncMember Self => new(NodeName, Incarnation.Id);

    /// <summary>What this node cut from its journal log at start, rejoining with a tail the leader never had (shown in the registry).</summary>
    public TruncatedRange? Truncated { get; set; }

    /// <summary>The lease clock the leadership rests on.</summary>
    public LeaseClock Clock => clock;

    /// <summary>The leader as etcd last showed it (possibly this node), or <see langword="null"/> when none is known.</summary>
    public LeaderInfo? Leader
    {
        get
        {
            lock (_lock)
            {
                return _leader;
            }
        }
    }

    /// <summary>The term of the current leader; 0 when none is known.</summary>
    public long Term => Leader?.Term ?? 0;

    /// <summary>
    /// Whether this node may acknowledge a write now: it holds the leader key, its lease is still valid, and it has not
    /// begun to give the term up (<see cref="StopLeading"/>).
    /// </summary>
    public bool IsLeader
    {
        get
        {
            var held = Volatile.Read(ref _heldTerm);
            return held > 0 && held != Volatile.Read(ref _givenUpTerm) && clock.IsValid;
        }
    }

    /// <summary>The term of the leader key this node's lease holds, whether or not the lease can still be relied on; 0 when it holds none.</summary>
    public long HeldTerm => Volatile.Read(ref _heldTerm);

    /// <summary>The term this node leads in, or 0.</summary>
    public long LeaderTerm => IsLeader ? Volatile.Read(ref _heldTerm) : 0;

    public ClusterRole Role => IsLeader ? ClusterRole.Leader
        : Leader is { } leader && !string.Equals(leader.Name, NodeName, StringComparison.Ordinal) ? ClusterRole.Follower
        : ClusterRole.Candidate;

    /// <summary>Where writes go when this node is not the leader: another node's URL, or <see langword="null"/> when there is none.</summary>
    public LeaderInfo? RedirectTarget => Role == ClusterRole.Follower ? Leader : null;

    /// <summary>
    /// Where a write sent to this follower is redirected: <see cref="RedirectTarget"/> while this node's own lease is
    /// valid on its clock, <see langword="null"/> (<c>503 no-leader</c>) once it could not renew it: it has not reached etcd
    /// for about the lease's TTL, so the leader it last saw may have lost its lease, or died, meanwhile. Replication keeps
    /// following <see cref="RedirectTarget"/>: the leader (if it still leads) needs its acknowledgements.
    /// </summary>
    public LeaderInfo? WriteTarget => clock.IsValid ? RedirectTarget : null;

    /// <summary>etcd shows <paramref name="leader"/> (or no leader); <paramref name="held"/> when this node's own lease holds the key.</summary>
    internal void Observe(LeaderInfo? leader, bool held)
    {
        lock (_lock)
        {
            _leader = leader;
            Volatile.Write(ref _heldTerm, held && leader is not null ? leader.Term : 0);
        }

        Changed?.Invoke();
    }

    /// <summary>
    /// This node gives up the term it holds (a local fault, <see cref="ILeadershipVeto"/>): from now on it acknowledges
    /// nothing in it, while <see cref="HeldTerm"/> stays until the key is resigned, so the term's replication streams can
    /// still hand the end of the log over. Terms only grow, so the mark never needs clearing.
    /// </summary>
    internal void StopLeading() => Volatile.Write(ref _givenUpTerm, Volatile.Read(ref _heldTerm));

    /// <summary>Whether this node holds the leader key of a term it gave up (<see cref="StopLeading"/>) and has yet to resign it.</summary>
    internal bool HoldsGivenUpTerm => Volatile.Read(ref _heldTerm) is > 0 and var held && held == Volatile.Read(ref _givenUpTerm);

    /// <summary>Re-reads the lease clock and raises <see cref="Changed"/> when leadership flipped since the last call.</summary>
    internal bool Recheck()
    {
        var now = IsLeader;
        if (now == _wasLeader)
        {
            return false;
        }

        _wasLeader = now;
        Changed?.Invoke();
        return true;
    }
}
