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

/// <summary>
/// Body of <c>POST /v1/trades/{tradeId}/amend</c>: <c>expectedVersion</c> and at least one field to set. A field left out
/// or sent as <c>null</c> keeps the trade's value, so <c>venue</c> and <c>trader</c> cannot be cleared.
/// </summary>
/// <remarks>
/// By design <c>null</c> keeps rather than clears: clients that write every property of a request object (unset ones as
/// <c>null</c>) would otherwise wipe the venue and trader with each price amend.
/// </remarks>
public sealed class AmendTradeRequest
{
    /// <summary>The version the client read; required.</summary>
    public long? ExpectedVersion { get; set; }

    public decimal? Quantity { get; set; }

    public decimal? Price { get; set; }

    /// <summary>The new venue, 1 to 64 printable characters; left out or <c>null</c> keeps the current one (it cannot be cleared).</summary>
    public string? Venue { get; set; }

    /// <summary>The new trader, 1 to 64 printable characters; left out or <c>null</c> keeps the current one (it cannot be cleared).</summary>
    public string? Trader { get; set; }

    /// <summary>The new execution time, ISO 8601 with a zone; left out or <c>null</c> keeps the current one.</summary>
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
/// <c>tradeId</c>, <c>type</c> (default <c>create</c>) and an optional <c>idempotencyKey</c>.
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
