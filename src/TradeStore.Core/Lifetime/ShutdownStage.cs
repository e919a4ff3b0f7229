namespace TradeStore.Core.Lifetime;

/// <summary>
/// The steps of a TradeStore shutdown, in the order they run. By design one order for every deployment: a cluster
/// node first hands its leadership over, nothing new is accepted, the engine commits what it already queued, the sinks take everything it committed, their
/// checkpoints are folded into the database file, and only then is the database closed.
/// </summary>
public enum ShutdownStage
{
    /// <summary>
    /// A cluster node leaves: it stops acknowledging, resigns the leader key and revokes its lease (so another node
    /// leads at once), and its replication streams end. First, so that followers never wait for the HTTP server's
    /// drain: their streams are requests that last as long as this node leads. Nothing to do standalone.
    /// </summary>
    LeaveCluster = 0,

    /// <summary>The HTTP server stops accepting requests.</summary>
    StopAccepting = 1,

    /// <summary>The write engine refuses new commands and commits everything already queued.</summary>
    DrainEngine = 2,

    /// <summary>The sinks (Redis, ClickHouse) apply everything the engine committed and record their checkpoints.</summary>
    FlushSinks = 3,

    /// <summary>The database is checkpointed (WAL folded into the file), sink checkpoints included.</summary>
    Checkpoint = 4,

    /// <summary>The database is closed.</summary>
    Close = 5,
}
