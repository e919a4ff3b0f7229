using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using TradeStore.Core.Options;
using TradeStore.Core.Threading;
using TradeStore.Core.Trades;
using TradeStore.Server.Cluster;
using TradeStore.Server.Security;

namespace TradeStore.Server.Api;

/// <summary>The read endpoints: one trade, its history, filtered pages of trades, positions.</summary>
public static class TradeQueryEndpoints
{
    private static readonly string[] ListParameters = ["account", "symbol", "status", "from", "to", "limit", "cursor"];
    private static readonly string[] HistoryParameters = ["limit", "cursor"];
    private static readonly string[] PositionParameters = ["account", "limit", "cursor"];

    public static IResult GetTrade(HttpContext context, string tradeId, [FromServices] ITradeQueries queries)
    {
        if (TradeValidation.TradeId(tradeId) is { } invalid)
        {
            return ApiResults.Problem(context, Problems.From(invalid));
        }

        if (QueryParameters.Check(context.Request.Query) is { } parameter)
        {
            return ApiResults.Problem(context, parameter);
        }

        // Another account's trade answers exactly like an unknown one: its existence does not leak.
        return queries.GetTrade(tradeId) is { } trade && AccountAccess.Scope(context).Allows(trade.Account)
            ? TradeJsonResult.Trade(trade)
            : ApiResults.Problem(context, Problems.NotFound(tradeId));
    }

    public static async Task<IResult> GetHistory(HttpContext context, string tradeId, [FromServices] ITradeQueries queries, [FromServices] IOptions<ApiOptions> options)
    {
        if (TradeValidation.TradeId(tradeId) is { } invalid)
        {
            return ApiResults.Problem(context, Problems.From(invalid));
        }

        var query = context.Request.Query;
        if (QueryParameters.Check(query, HistoryParameters) is { } parameter)
        {
            return ApiResults.Problem(context, parameter);
        }

        if (Limit(query, options.Value, out var limit) is { } badLimit)
        {
            return ApiResults.Problem(context, badLimit);
        }

        // History is read from DuckDB: off the socket event thread the request arrived on.
        await SocketEventThreads.LeaveAsync();
        TradeHistoryPage page;
        try
        {
            page = queries.GetHistory(tradeId, limit, Value(query, "cursor"));
        }
        catch (FormatException ex)
        {
            // The cursor is opaque; the query side refuses one it did not issue for this trade.
            return ApiResults.Problem(context, Problems.Validation("cursor", ex.Message));
        }

        return page.Account is not { } account || !AccountAccess.Scope(context).Allows(account)
            ? ApiResults.Problem(context, Problems.NotFound(tradeId))
            : ApiResults.Json(new TradeHistoryResponse(tradeId, page.Events.Select(TradeEventResponse.From).ToList(), page.NextCursor), ApiJson.Context.TradeHistoryResponse);
    }

    public static IResult ListTrades(HttpContext context, [FromServices] ITradeQueries queries, [FromServices] IOptions<ApiOptions> options)
    {
        var query = context.Request.Query;
        var limits = options.Value;
        if ((QueryParameters.Check(query, ListParameters) ?? QueryParameters.CheckNames(query)) is { } unknown)
        {
            return ApiResults.Problem(context, unknown);
        }

        TradeStatus? status = null;
        if (Value(query, "status") is { } statusCode)
        {
            if (!TradeCodes.TryParseStatus(statusCode, out var parsed) || parsed == TradeStatus.Deleted)
            {
                return ApiResults.Problem(context, Problems.Validation("status", $"status must be one of new, partially_filled, filled, cancelled; got '{statusCode}'."));
            }

            status = parsed;
        }

        if (Limit(query, limits, out var limit) is { } badLimit)
        {
            return ApiResults.Problem(context, badLimit);
        }

        if (Time(query, "from", out var from) is { } badFrom)
        {
            return ApiResults.Problem(context, badFrom);
        }

        if (Time(query, "to", out var to) is { } badTo)
        {
            return ApiResults.Problem(context, badTo);
        }

        if (from > to)
        {
            // By design refused, not an empty page: the two were swapped, and an empty answer would read as "no trades".
            return ApiResults.Problem(context, Problems.Validation("to", $"to ({Value(query, "to")}) is before from ({Value(query, "from")}): from is inclusive and to exclusive."));
        }

        var scope = AccountAccess.Scope(context);
        var account = Value(query, "account");
        if (account is not null && !scope.Allows(account))
        {
            // By design refused, as a create in that account and its change feed are: an empty page hid a mistyped account.
            return ApiResults.Problem(context, Problems.AccountReadForbidden(account, scope.Accounts));
        }

        if (account is null && !scope.IsAll)
        {
            if (scope.Accounts.Count != 1)
            {
                return ApiResults.Problem(context, Problems.Validation("account", $"This key may read several accounts ({string.Join(", ", scope.Accounts)}): name one with ?account=."));
            }

            account = scope.Accounts[0];
        }

        var filter = new TradeFilter(account, Value(query, "symbol"), status, from, to, limit, Value(query, "cursor"));
        TradePage page;
        try
        {
            page = queries.ListTrades(filter);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            // The cursor is opaque; the query side refuses one it did not issue.
            return ApiResults.Problem(context, Problems.Validation("cursor", ex.Message));
        }

        return TradeJsonResult.Page(page);
    }

    public static IResult GetPositions(HttpContext context, [FromServices] ITradeQueries queries, [FromServices] IOptions<ApiOptions> options)
    {
        var query = context.Request.Query;
        if ((QueryParameters.Check(query, PositionParameters) ?? QueryParameters.CheckNames(query)) is { } unknown)
        {
            return ApiResults.Problem(context, unknown);
        }

        if (Limit(query, options.Value, out var limit) is { } badLimit)
        {
            return ApiResults.Problem(context, badLimit);
        }

        var scope = AccountAccess.Scope(context);
        var account = Value(query, "account");
        if (account is not null && !scope.Allows(account))
        {
            return ApiResults.Problem(context, Problems.AccountReadForbidden(account, scope.Accounts));
        }

        PositionPage page;
        try
        {
            page = queries.GetPositions(new PositionFilter(account, scope.IsAll ? null : scope.Accounts, limit, Value(query, "cursor")));
        }
        catch (FormatException ex)
        {
            // The cursor is opaque; the query side refuses one it did not issue for this account filter.
            return ApiResults.Problem(context, Problems.Validation("cursor", ex.Message));
        }

        // Each page is read at one seq, between two commit batches, and says which (docs/api.md, "Positions").
        ReadYourWrites.AnsweredAt(context, page.Seq);
        return ApiResults.Json(new PositionsResponse(page.Positions.Select(PositionResponse.From).ToList(), page.NextCursor), ApiJson.Context.PositionsResponse);
    }

    private static string? Value(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var values) && !string.IsNullOrEmpty(values[0]) ? values[0] : null;

    /// <summary>The page size of a list, a history or positions: <c>limit</c>, 1 to <c>Api:MaxPageSize</c>, else <c>Api:DefaultPageSize</c>.</summary>
    private static ApiProblem? Limit(IQueryCollection query, ApiOptions limits, out int limit)
    {
        limit = limits.DefaultPageSize;
        return Value(query, "limit") is { } text
            && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > limits.MaxPageSize)
            ? Problems.Validation("limit", $"limit must be an integer from 1 to {limits.MaxPageSize} (Api:MaxPageSize); got '{Problems.Echo(text)}'.")
            : null;
    }

    private static ApiProblem? Time(IQueryCollection query, string name, out DateTimeOffset? value)
    {
        value = null;
        if (Value(query, name) is not { } text)
        {
            return null;
        }

        // The rule of bodies (IsoTime); a '+' arrives as a space when it was not percent-encoded.
        var normalized = text.Replace(' ', '+');
        if (!IsoTime.TryParse(normalized, out var parsed, out var refusal))
        {
            return Problems.Validation(name, $"{name} {IsoTime.Reason(refusal, normalized)}; got '{Problems.Echo(text)}'.");
        }

        value = parsed;
        return null;
    }
}
