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

        v1.MapGet("/trades/{tradeId}", TradeQueryEndpoints.GetTrade).RequireAuthorization(SecurityPolicies.Read);
        v1.MapGet("/trades/{tradeId}/history", TradeQueryEndpoints.GetHistory).RequireAuthorization(SecurityPolicies.Read);
        v1.MapGet("/trades", TradeQueryEndpoints.ListTrades).RequireAuthorization(SecurityPolicies.Read);
        v1.MapGet("/positions", TradeQueryEndpoints.GetPositions).RequireAuthorization(SecurityPolicies.Read);
        return app;
    }
}
