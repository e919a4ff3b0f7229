namespace TradeStore.Server.Api;

// Request bodies. Every property is nullable so that a missing field is reported by name
// ("quantity is required.") instead of as a serializer failure; unknown properties are refused by the
// JSON context (UnmappedMemberHandling.Disallow), so version, status or seq can never be mass-assigned.

/// <summary>Body of <c>POST /v1/trades</c>.</summary>
public sealed class CreateTradeRequest
{
    public string? TradeId { get; set; }

    public string? Account { get; set; }

    public string? Symbol { get; set; }

    public string? Side { get; set; }

    public decimal? Quantity { get; set; }

    public decimal? Price { get; set; }

    public string? Venue { get; set; }

    public string? Trader { get; set; }

    public DateTimeOffset? ExecutedAt { get; set; }
}

/// <summary>Body of <c>POST /v1/trades/{tradeId}/amend</c>; <see cref="ExpectedVersion"/> is required.</summary>
public sealed class AmendTradeRequest
{
    public long? ExpectedVersion { get; set; }

    public decimal? Quantity { get; set; }

    public decimal? Price { get; set; }

    public string? Venue { get; set; }

    public string? Trader { get; set; }

    public DateTimeOffset? ExecutedAt { get; set; }
}

/// <summary>Body of <c>POST /v1/trades/{tradeId}/fill</c>.</summary>
public sealed class FillTradeRequest
{
    public decimal? Quantity { get; set; }

    public decimal? Price { get; set; }

    public long? ExpectedVersion { get; set; }
}

/// <summary>Body of <c>POST /v1/trades/{tradeId}/cancel</c> (the body may be empty).</summary>
public sealed class CancelTradeRequest
{
    public long? ExpectedVersion { get; set; }
}

/// <summary>
/// One command of <c>POST /v1/trades/batch</c>: the body of the matching single endpoint plus
/// <see cref="TradeId"/>, <see cref="Type"/> (default <c>create</c>) and an optional idempotency key.
/// Fields that do not belong to the type are refused by name.
/// </summary>
public sealed class BatchItemRequest
{
    public string? Type { get; set; }

    public string? IdempotencyKey { get; set; }

    public string? TradeId { get; set; }

    public string? Account { get; set; }

    public string? Symbol { get; set; }

    public string? Side { get; set; }

    public decimal? Quantity { get; set; }

    public decimal? Price { get; set; }

    public string? Venue { get; set; }

    public string? Trader { get; set; }

    public DateTimeOffset? ExecutedAt { get; set; }

    public long? ExpectedVersion { get; set; }
}
