using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace TradeStore.Tests;

/// <summary>The API routes a host maps and the ones its OpenAPI document describes, as <c>METHOD /path</c>, to compare both ways.</summary>
internal static class OpenApiRoutes
{
    /// <summary>Routes that serve the documentation and the console themselves, not the API.</summary>
    private static readonly string[] NotApi = ["/openapi/", "/docs/api", "/console", "/scalar"];

    /// <summary>The mapped routes; a HEAD beside a GET of the same endpoint is left out, as the document leaves it out (HTTP implies it).</summary>
    public static HashSet<string> Mapped(WebApplication app) =>
        ((IEndpointRouteBuilder)app).DataSources.SelectMany(source => source.Endpoints).OfType<RouteEndpoint>()
            .Select(endpoint => (Path: "/" + endpoint.RoutePattern.RawText!.TrimStart('/'), Methods: endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]))
            .Where(route => !NotApi.Any(prefix => route.Path.StartsWith(prefix, StringComparison.Ordinal)))
            .SelectMany(route => route.Methods.Where(method => method != "HEAD" || !route.Methods.Contains("GET")).Select(method => $"{method} {route.Path}"))
            .ToHashSet();


    public static HashSet<string> Documented(JsonElement document) =>
        document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(operation => $"{operation.Name.ToUpperInvariant()} {path.Name}"))
            .ToHashSet();
}
