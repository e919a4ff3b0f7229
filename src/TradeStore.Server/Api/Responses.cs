using System.Text.Json.Serialization;
using TradeStore.Core.Trades;

namespace TradeStore.Server.Api;

/// <summary>A trade as clients see it; <c>side</c> is <c>buy</c> or <c>sell</c>, <c>status</c> one of <c>new</c>, <c>partially_filled</c>, <c>filled</c>, <c>cancelled</c>, <c>deleted</c>.</summary>
public sealed record TradeResponse(
    string TradeId,
    string Account,
    string Symbol,
    string Side,
    decimal Quantity,
    decimal Price,
    decimal FilledQuantity,
    decimal? AverageFillPrice,
    string Status,
    string? Venue,
    string? Trader,
    DateTimeOffset ExecutedAt,
    long Version,
    long LastSeq,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static TradeResponse From(Trade trade) => new(
        trade.TradeId, trade.Account, trade.Symbol, trade.Side.ToCode(), trade.Quantity, trade.Price, trade.FilledQuantity,
        trade.AverageFillPrice, trade.Status.ToCode(), trade.Venue, trade.Trader, trade.ExecutedAt, trade.Version, trade.LastSeq,
        trade.CreatedAt, trade.UpdatedAt);
}

/// <summary>One journal event of <c>GET /v1/trades/{tradeId}/history</c>, with the trade's state after it.</summary>
public sealed record TradeEventResponse(
    long Seq,
    string Type,
    long Version,
    DateTimeOffset RecordedAt,
    decimal? LastQuantity,
    decimal? LastPrice,
    string? IdempotencyKey,
    TradeResponse Trade)
{
    public static TradeEventResponse From(TradeEvent e) =>
        new(e.Seq, e.Type.ToCode(), e.Version, e.RecordedAt, e.LastQuantity, e.LastPrice, e.IdempotencyKey is { } key ? IdempotencyKeys.ClientKey(key) : null, TradeResponse.From(e.State));
}

/// <summary>One page of <c>GET /v1/trades/{tradeId}/history</c>, oldest event first; <c>nextCursor</c> is <c>null</c> on the last page.</summary>
public sealed record TradeHistoryResponse(string TradeId, IReadOnlyList<TradeEventResponse> Items, string? NextCursor);

/// <summary>One page of <c>GET /v1/trades</c>; <c>nextCursor</c> is <c>null</c> on the last page.</summary>
public sealed record TradePageResponse(IReadOnlyList<TradeResponse> Items, string? NextCursor);

/// <summary>A position of <c>GET /v1/positions</c>: net quantity, average price and the bought/sold figures behind them.</summary>
public sealed record PositionResponse(
    string Account,
    string Symbol,
    decimal NetQuantity,
    decimal AveragePrice,
    decimal BoughtQuantity,
    decimal BoughtNotional,
    decimal SoldQuantity,
    decimal SoldNotional)
{
    public static PositionResponse From(Position p) =>
        new(p.Account, p.Symbol, p.NetQuantity, p.AveragePrice, p.BoughtQuantity, p.BoughtNotional, p.SoldQuantity, p.SoldNotional);
}

/// <summary>One page of <c>GET /v1/positions</c>, by account then symbol; <c>nextCursor</c> is <c>null</c> on the last page.</summary>
public sealed record PositionsResponse(IReadOnlyList<PositionResponse> Items, string? NextCursor);

/// <summary>
/// RFC 7807 problem details. <c>field</c> names the bad input (a JSON property, query parameter or header; <c>status</c>
/// when the trade's status forbids the command); <c>currentVersion</c> is the trade's version on a version conflict or an
/// invalid transition (and on an already-exists the caller may see), so a client can re-read and decide again.
/// </summary>
// RetryAfterSeconds is not in the body: ApiResults.Problem sends it as the Retry-After header, so each problem that asks
// for a pause carries it from the one place that makes the problem. (A comment, not XML: the summary is the schema's
// description in /openapi/v1.json.)
public sealed record ApiProblem(
    string Type,
    string Title,
    int Status,
    string Detail,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Field = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? CurrentVersion = null,
    [property: JsonIgnore] int? RetryAfterSeconds = null);

/// <summary>The outcome of one batch item: its HTTP status and either the trade or the problem.</summary>
public sealed record BatchItemResponse(
    int Index,
    int Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Replayed,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TradeResponse? Trade,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ApiProblem? Problem);

/// <summary>Body of <c>POST /v1/trades/batch</c>: one result per item, in request order.</summary>
public sealed record BatchResponse(int Succeeded, int Failed, IReadOnlyList<BatchItemResponse> Results);
