namespace TradeStore.Core.Trades;

/// <summary>
/// One row of the journal (<c>trade_events</c>): the event, its global gap-free <see cref="Seq"/>, and the
/// trade's whole state after it. <see cref="LastQuantity"/>/<see cref="LastPrice"/> are set on fills only.
/// </summary>
public sealed record TradeEvent(
    long Seq,
    TradeEventType Type,
    Trade State,
    decimal? LastQuantity,
    decimal? LastPrice,
    DateTimeOffset RecordedAt,
    string? IdempotencyKey)
{
    public string TradeId => State.TradeId;

    public long Version => State.Version;
}
