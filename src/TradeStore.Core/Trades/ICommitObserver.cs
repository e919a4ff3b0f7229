namespace TradeStore.Core.Trades;

/// <summary>
/// Told by the WriteEngine about every batch right after its DuckDB commit, in <c>seq</c> order.
/// Called on the writer's thread: an observer must only hand the events on (for example to a channel),
/// never block or throw, or it would slow every write. Observers that miss events catch up from the journal.
/// </summary>
public interface ICommitObserver
{
    void OnCommitted(IReadOnlyList<TradeEvent> events);
}
