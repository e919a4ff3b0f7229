using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TradeStore.Core.Options;

namespace TradeStore.Server.Api;

/// <summary>Maps the <c>/v1</c> trade API: commands, batch, reads and positions.</summary>
public static class TradeApi
{
    public static IEndpointRouteBuilder MapTradeApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");
        v1.AddEndpointFilter(GuardAsync);

        v1.MapPost("/trades", TradeCommandEndpoints.CreateAsync);
        v1.MapPost("/trades/batch", TradeCommandEndpoints.BatchAsync);
        v1.MapPost("/trades/{tradeId}/amend", TradeCommandEndpoints.AmendAsync);
        v1.MapPost("/trades/{tradeId}/fill", TradeCommandEndpoints.FillAsync);
        v1.MapPost("/trades/{tradeId}/cancel", TradeCommandEndpoints.CancelAsync);
        v1.MapDelete("/trades/{tradeId}", TradeCommandEndpoints.DeleteAsync);

        v1.MapGet("/trades/{tradeId}", TradeQueryEndpoints.GetTrade);
        v1.MapGet("/trades/{tradeId}/history", TradeQueryEndpoints.GetHistory);
        v1.MapGet("/trades", TradeQueryEndpoints.ListTrades);
        v1.MapGet("/positions", TradeQueryEndpoints.GetPositions);
        return app;
    }

    /// <summary>An unexpected failure becomes a logged 500 problem, never a stack trace or an empty response.</summary>
    private static async ValueTask<object?> GuardAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        try
        {
            return await next(invocation);
        }
        catch (BadHttpRequestException ex)
        {
            // The connection broke the protocol mid-body (a bad chunk, a body over the server's limit): the client's fault.
            var problem = ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? Problems.PayloadTooLarge(context.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.MaxRequestBodyBytes)
                : Problems.UnreadableRequest(ex.StatusCode, $"The request could not be read: {ex.Message}");
            return ApiResults.Problem(context, problem);
        }
        catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TradeApi).FullName!);
            Log.ApiRequestFailed(logger, context.Request.Method, context.Request.Path, ex);
            return ApiResults.Problem(context, Problems.Internal("The request failed unexpectedly (see the server log). A command may or may not have been applied: read the trade, or retry with the same Idempotency-Key."));
        }
    }
}
