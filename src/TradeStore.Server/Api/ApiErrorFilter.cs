using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TradeStore.Core.Options;

namespace TradeStore.Server.Api;

/// <summary>
/// The endpoint filter of every API endpoint (<c>/v1/…</c>, including <c>/v1/query</c>): a request the server cannot
/// read is the client's 400/413, and an unexpected failure is a logged 500 problem, never a stack trace or an empty body.
/// </summary>
public static class ApiErrorFilter
{
    public static async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
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
        catch (IOException ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            // Kestrel reports some framing errors (a chunk size that overflows) as a plain IOException.
            return ApiResults.Problem(context, Problems.UnreadableRequest(StatusCodes.Status400BadRequest, $"The request body could not be read: {ex.Message}"));
        }
        catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ApiErrorFilter).FullName!);
            Log.ApiRequestFailed(logger, context.Request.Method, context.Request.Path, ex);
            // A read, or the read-only SQL endpoint, changed nothing; a command may have been applied before it failed.
            var changesNothing = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) || context.Request.Path.StartsWithSegments(QueryEndpoint.Path);
            return ApiResults.Problem(context, Problems.Internal(changesNothing
                ? "The request failed unexpectedly (see the server log). Nothing was changed; retry."
                : "The request failed unexpectedly (see the server log). A command may or may not have been applied: read the trade, or retry with the same Idempotency-Key."));
        }
    }
}
