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
/// Which positions a page holds and where it starts. With <see cref="Account"/> (the <c>account</c> filter a cursor is
/// checked against) that account's; else those of <see cref="Accounts"/> (a key's accounts), or of every account when
/// <see langword="null"/>. <see cref="Limit"/> is already bounded by the caller.
/// </summary>
public sealed record PositionFilter(string? Account = null, IReadOnlyList<string>? Accounts = null, int Limit = 100, string? Cursor = null);

/// <summary>
/// One page of positions in (account, symbol) order, read at one seq: they hold every event up to <see cref="Seq"/> and
/// none after. <see cref="NextCursor"/> is the cursor of the next page (<see langword="null"/> at the end).
/// </summary>
public sealed record PositionPage(IReadOnlyList<Position> Positions, string? NextCursor, long Seq);

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
    /// Up to <see cref="PositionFilter.Limit"/> non-empty positions after the position of <see cref="PositionFilter.Cursor"/>
    /// (a <see cref="PositionPage.NextCursor"/> of the same <see cref="PositionFilter.Account"/>), from the first without
    /// one, ordered by account then symbol, all read at one seq (<see cref="PositionPage.Seq"/>): a client can follow
    /// <c>/v1/changes</c> from that seq + 1 on top of them without missing or repeating an event.
    /// </summary>
    /// <exception cref="FormatException">The cursor was not issued for this account filter.</exception>
    PositionPage GetPositions(PositionFilter filter);
}
