namespace TradeStore.Cluster;

/// <summary>
/// A local fault that makes this node unfit to lead although it reaches etcd: its storage refuses writes (a full disk, an
/// I/O error). A leader that reports one steps down so that a follower holding every acknowledged write can take over, and
/// a node that reports one does not campaign. Without it a leader whose disk was full kept the leader key and answered every
/// write <c>500 storage-failure</c> while healthy followers could have led.
/// </summary>
public interface ILeadershipVeto
{
    /// <summary>Why this node must not lead now, or <see langword="null"/> when it may. May probe the storage; not called on the renewal loop.</summary>
    ValueTask<string?> ReasonNotToLeadAsync(CancellationToken cancellationToken);
}
