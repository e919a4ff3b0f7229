namespace TradeStore.Cluster;

/// <summary>
/// What a leader does at shutdown between stopping to acknowledge and resigning the leader key: the replication hub
/// lets the followers that stream in the term acknowledge the end of its log, so the node that leads next holds every
/// write this one acknowledged, also with <see cref="ClusterOptions.SyncReplicas"/> 0.
/// </summary>
public interface ILeaderHandOver
{
    /// <summary>
    /// Waits, at most <paramref name="timeout"/>, until every follower streaming in <paramref name="term"/> acknowledged
    /// the log's end as it is now; its streams keep sending meanwhile although the node acknowledges nothing. Returns the
    /// seq waited for and whether they all got there in time.
    /// </summary>
    Task<(long ThroughSeq, bool CaughtUp)> HandOverAsync(long term, TimeSpan timeout);
}
