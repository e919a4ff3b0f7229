using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace TradeStore.Server.Api;

/// <summary>
/// Gives the answers that routing makes without a body (no endpoint at the path: 404; a path that exists with another
/// method: 405) the problem+json body every other refusal has. Answers that already carry a body are left alone.
/// </summary>
public static class EmptyErrorProblems
{
    public static void Use(WebApplication app) => app.UseStatusCodePages(WriteAsync);

    private static Task WriteAsync(StatusCodeContext context)
    {
        var http = context.HttpContext;
        var request = http.Request;
        var problem = http.Response.StatusCode switch
        {
            StatusCodes.Status404NotFound => Problems.UnknownEndpoint(request.Method, request.Path),
            StatusCodes.Status405MethodNotAllowed => Problems.MethodNotAllowed(request.Method, request.Path, http.Response.Headers[HeaderNames.Allow]),
            _ => null,
        };
        return problem is null || HttpMethods.IsHead(request.Method)
            ? Task.CompletedTask
            : ApiResults.Problem(http, problem).ExecuteAsync(http);
    }
}
