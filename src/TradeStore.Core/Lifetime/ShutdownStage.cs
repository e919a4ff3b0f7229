namespace TradeStore.Core.Lifetime;

/// <summary>
/// The steps of a TradeStore shutdown, in the order they run. By design one order for every deployment: nothing
/// new is accepted, the engine commits what it already queued, the sinks take everything it committed, their
/// checkpoints are folded into the database file, and only then is the database closed.
/// </summary>
public enum ShutdownStage
{
    /// <summary>The HTTP server stops accepting requests.</summary>
    StopAccepting = 0,

    /// <summary>The write engine refuses new commands and commits everything already queued.</summary>
    DrainEngine = 1,

    /// <summary>The sinks (Redis, ClickHouse) apply everything the engine committed and record their checkpoints.</summary>
    FlushSinks = 2,

    /// <summary>The database is checkpointed (WAL folded into the file), sink checkpoints included.</summary>
    Checkpoint = 3,

    /// <summary>The database is closed.</summary>
    Close = 4,
}
