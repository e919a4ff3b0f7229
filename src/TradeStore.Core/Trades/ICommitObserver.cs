namespace TradeStore.Core.Trades;

/// <summary>
/// Told by the WriteEngine about every batch once it is durable in the journal log (and, on a leader with synchronous
/// replicas, acknowledged by them), in <c>seq</c> order, without waiting for DuckDB: DuckDB may not hold the events yet,
/// so an observer reads the journal through the engine's <c>PublishedJournal</c>. Called on the engine's publisher
/// thread: an observer must only hand the events on (for example to a channel), never block or throw, or it would delay
/// the other observers. Observers that miss events catch up from the journal. The list is new for each call and never
/// changed afterwards: an observer may keep it without a copy.
/// </summary>
public interface ICommitObserver
{
    /// <summary>
    /// Whether the observer wants to be told now (the change feed: only while a stream is open). When no observer does,
    /// the engine marks a batch published on the writer's thread and wakes no publisher thread for it; a reader that
    /// starts listening afterwards finds it in the journal.
    /// </summary>
    bool IsListening => true;

    void OnCommitted(IReadOnlyList<TradeEvent> events);
}
