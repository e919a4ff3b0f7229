namespace TradeStore.Core.Trades;

/// <summary>A request to change one trade. <see cref="IdempotencyKey"/> makes a retry return the first result and write nothing.</summary>
public abstract record TradeCommand(string TradeId, string? IdempotencyKey)
{
    public abstract TradeEventType EventType { get; }
}

/// <summary>Records a new trade. <paramref name="ExecutedAt"/> defaults to the time the writer accepts it.</summary>
public sealed record CreateTrade(
    string TradeId,
    string Account,
    string Symbol,
    Side Side,
    decimal Quantity,
    decimal Price,
    string? Venue = null,
    string? Trader = null,
    DateTimeOffset? ExecutedAt = null,
    string? IdempotencyKey = null) : TradeCommand(TradeId, IdempotencyKey)
{
    public override TradeEventType EventType => TradeEventType.Create;
}

/// <summary>Changes the terms of a live trade; fields left <see langword="null"/> keep their value.</summary>
public sealed record AmendTrade(
    string TradeId,
    long? ExpectedVersion,
    decimal? Quantity = null,
    decimal? Price = null,
    string? Venue = null,
    string? Trader = null,
    DateTimeOffset? ExecutedAt = null,
    string? IdempotencyKey = null) : TradeCommand(TradeId, IdempotencyKey)
{
    public override TradeEventType EventType => TradeEventType.Amend;
}

/// <summary>Records an execution of part or all of the remaining quantity.</summary>
public sealed record FillTrade(
    string TradeId,
    decimal Quantity,
    decimal Price,
    long? ExpectedVersion = null,
    string? IdempotencyKey = null) : TradeCommand(TradeId, IdempotencyKey)
{
    public override TradeEventType EventType => TradeEventType.Fill;
}

/// <summary>Cancels the unfilled remainder of a new or partially filled trade.</summary>
public sealed record CancelTrade(string TradeId, long? ExpectedVersion = null, string? IdempotencyKey = null)
    : TradeCommand(TradeId, IdempotencyKey)
{
    public override TradeEventType EventType => TradeEventType.Cancel;
}

/// <summary>Marks a trade deleted: kept in the journal, gone from current-state reads and positions.</summary>
public sealed record DeleteTrade(string TradeId, long? ExpectedVersion = null, string? IdempotencyKey = null)
    : TradeCommand(TradeId, IdempotencyKey)
{
    public override TradeEventType EventType => TradeEventType.Delete;
}
