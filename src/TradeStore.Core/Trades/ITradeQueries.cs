namespace TradeStore.Core.Trades;

/// <summary>Filter and keyset cursor of a trade list. <see cref="Limit"/> is already bounded by the caller.</summary>
public sealed record TradeFilter(
    string? Account = null,
    string? Symbol = null,
    TradeStatus? Status = null,
    DateTimeOffset? From = null,
    DateTimeOffset? To = null,
    int Limit = 100,
    string? Cursor = null);

/// <summary>One page of trades in a stable order, and the cursor of the next page (<see langword="null"/> at the end).</summary>
public sealed record TradePage(IReadOnlyList<Trade> Trades, string? NextCursor);

/// <summary>
/// One page of a trade's history, oldest first, and the cursor of the next page (<see langword="null"/> at the end).
/// <see cref="Account"/> is the trade's account (deleted trades included), <see langword="null"/> when the trade is unknown.
/// </summary>
public sealed record TradeHistoryPage(string? Account, IReadOnlyList<TradeEvent> Events, string? NextCursor);

/// <summary>
/// The read side. Point reads, positions and lists come from the in-memory state index (microseconds);
/// history comes from the DuckDB journal.
/// </summary>
public interface ITradeQueries
{
    /// <summary>The current state, or <see langword="null"/> when the trade is unknown or deleted.</summary>
    Trade? GetTrade(string tradeId);

    /// <summary>
    /// Up to <paramref name="limit"/> events of the trade (deleted trades included), oldest first, after the position of
    /// <paramref name="cursor"/> (a <see cref="TradeHistoryPage.NextCursor"/> of this trade), from the first without one.
    /// <paramref name="limit"/> is already bounded by the caller.
    /// </summary>
    /// <exception cref="FormatException">The cursor was not issued for this trade's history.</exception>
    TradeHistoryPage GetHistory(string tradeId, int limit, string? cursor = null);

    /// <summary>Live (not deleted) trades matching <paramref name="filter"/>, ordered by execution time then trade id.</summary>
    TradePage ListTrades(TradeFilter filter);

    /// <summary>
    /// The non-empty positions of each of <paramref name="accounts"/>, in that order (of every account when
    /// <see langword="null"/>), each account's ordered by symbol, all read at one seq: they hold every event up to
    /// <paramref name="seq"/> and none after, so a client can follow <c>/v1/changes</c> from <paramref name="seq"/> + 1
    /// on top of them without missing or repeating an event.
    /// </summary>
    IReadOnlyList<Position> GetPositionsAtOneSeq(IReadOnlyList<string>? accounts, out long seq);
}
