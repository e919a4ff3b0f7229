using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TradeStore.Server.Security;

namespace TradeStore.Server.Api;

/// <summary>Maps the <c>/v1</c> trade API: commands, batch, reads and positions.</summary>
public static class TradeApi
{
    public static IEndpointRouteBuilder MapTradeApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");
        v1.AddEndpointFilter(ApiErrorFilter.InvokeAsync);

        v1.MapPost("/trades", TradeCommandEndpoints.CreateAsync).RequireAuthorization(SecurityPolicies.Write);
        v1.MapPost("/trades/batch", TradeCommandEndpoints.BatchAsync).RequireAuthorization(SecurityPolicies.Write);
        v1.MapPost("/trades/{tradeId}/amend", TradeCommandEndpoints.AmendAsync).RequireAuthorization(SecurityPolicies.Write);
        v1.MapPost("/trades/{tradeId}/fill", TradeCommandEndpoints.FillAsync).RequireAuthorization(SecurityPolicies.Write);
        v1.MapPost("/trades/{tradeId}/cancel", TradeCommandEndpoints.CancelAsync).RequireAuthorization(SecurityPolicies.Write);
        v1.MapDelete("/trades/{tradeId}", TradeCommandEndpoints.DeleteAsync).RequireAuthorization(SecurityPolicies.Write);

        v1.MapRead("/trades/{tradeId}", TradeQueryEndpoints.GetTrade);
        v1.MapRead("/trades/{tradeId}/history", TradeQueryEndpoints.GetHistory);
        v1.MapRead("/trades", TradeQueryEndpoints.ListTrades);
        v1.MapRead("/positions", TradeQueryEndpoints.GetPositions);
        return app;
    }

    /// <summary>
    /// A read answers <c>GET</c> and <c>HEAD</c> (RFC 9110 §9.3.2: a HEAD is a GET whose answer's body Kestrel does not
    /// send), so a probe or link checker asking with HEAD gets the status and headers a GET would.
    /// </summary>
    private static void MapRead(this RouteGroupBuilder v1, string pattern, Delegate handler) =>
        v1.MapMethods(pattern, ReadMethods, handler).RequireAuthorization(SecurityPolicies.Read);

    private static readonly string[] ReadMethods = [HttpMethods.Get, HttpMethods.Head];
}
