namespace TradeStore.Core.Trades;

/// <summary>
/// Told by the WriteEngine about every batch right after its DuckDB commit (the applier's, behind the journal log),
/// in <c>seq</c> order: every event told is durable in the journal log and in DuckDB. Called on the applier's thread:
/// an observer must only hand the events on (for example to a channel), never block or throw, or it would delay
/// DuckDB (and, past <c>Engine:MaxApplyBacklog</c>, the writes). Observers that miss events catch up from the journal.
/// The list is new for each call and never changed afterwards: an observer may keep it without a copy.
/// </summary>
public interface ICommitObserver
{
    void OnCommitted(IReadOnlyList<TradeEvent> events);
}
