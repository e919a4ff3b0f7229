namespace TradeStore.Core.Trades;

/// <summary>
/// The current state of one trade. Every journal row carries the whole state after its event, so this
/// record is also what Redis and ClickHouse receive, and <c>trade_state</c> is the latest row per trade.
/// </summary>
/// <param name="FilledNotional">Σ fill quantity × fill price; with <paramref name="FilledQuantity"/> it makes positions reversible on delete.</param>
/// <param name="LastSeq">Journal sequence number of the event that produced this state.</param>
public sealed record Trade(
    string TradeId,
    string Account,
    string Symbol,
    Side Side,
    decimal Quantity,
    decimal Price,
    decimal FilledQuantity,
    decimal FilledNotional,
    TradeStatus Status,
    string? Venue,
    string? Trader,
    DateTimeOffset ExecutedAt,
    long Version,
    long LastSeq,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>Volume-weighted average fill price, or <see langword="null"/> before the first fill.</summary>
    public decimal? AverageFillPrice => FilledQuantity == 0 ? null : Money.RoundPrice(FilledNotional / FilledQuantity);

    public decimal RemainingQuantity => Quantity - FilledQuantity;
}
