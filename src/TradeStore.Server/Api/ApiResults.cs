using Microsoft.AspNetCore.Http;
using TradeStore.Core.Trades;

namespace TradeStore.Server.Api;

/// <summary>Writes API answers with the source-generated JSON context.</summary>
public static class ApiResults
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";

    /// <summary>The problem as <c>application/problem+json</c>, with its <c>Retry-After</c> header when it asks for a pause.</summary>
    public static IResult Problem(HttpContext context, ApiProblem problem)
    {
        if (problem.RetryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return Results.Json(problem, ApiJson.Context.ApiProblem, Problems.ContentType, problem.Status);
    }

    public static IResult Json<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, int status = StatusCodes.Status200OK) =>
        Results.Json(value, typeInfo, "application/json; charset=utf-8", status);

    /// <summary>
    /// The answer to one command: the trade with 201 (create) or 200, or its problem. A replay through an
    /// idempotency key answers exactly as the first time, plus <c>Idempotent-Replayed: true</c>.
    /// </summary>
    public static IResult Command(HttpContext context, TradeCommand command, CommandResult result)
    {
        if (result.Error is { } error)
        {
            var problem = Problems.From(error);
            // The key came in a header here, so name the header rather than a body property.
            return Problem(context, problem.Field == "idempotencyKey" ? problem with { Field = IdempotencyKeyHeader } : problem);
        }

        var trade = result.Trade!;
        if (result.Replayed)
        {
            context.Response.Headers[ReplayedHeader] = "true";
        }

        if (command is CreateTrade)
        {
            context.Response.Headers.Location = TradeLocation(trade.TradeId);
            return TradeJsonResult.Trade(trade, StatusCodes.Status201Created);
        }

        return TradeJsonResult.Trade(trade);
    }

    public static int SuccessStatus(TradeCommand command) => command is CreateTrade ? StatusCodes.Status201Created : StatusCodes.Status200OK;

    public static string TradeLocation(string tradeId) => "/v1/trades/" + Uri.EscapeDataString(tradeId);
}
