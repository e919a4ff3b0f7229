using System.Collections.Frozen;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace TradeStore.Server.OperatorConsole;

/// <summary>
/// The operator console at <c>/console/</c>: an HTML page, a stylesheet and a script embedded in this assembly (no
/// Node build, no files on disk). It holds no data and calls the same endpoints as every client with the key the
/// operator types, so it is served without a key; a strict Content-Security-Policy allows only this origin.
/// </summary>
public static class ConsoleEndpoints
{
    public const string Path = "/console";
    private const string ResourcePrefix = "console/";

    private const string SecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly FrozenDictionary<string, (byte[] Content, string ContentType)> Files = Load();

    /// <summary>Names of the embedded files, for tests.</summary>
    public static IReadOnlyCollection<string> FileNames => Files.Keys;

    public static void Map(IEndpointRouteBuilder app)
    {
        // HEAD too, for link checkers and uptime probes: Kestrel sends the GET answer's headers without its body.
        app.MapMethods(Path + "/{file?}", [HttpMethods.Get, HttpMethods.Head], Serve).AllowAnonymous().ExcludeFromDescription();
    }

    private static IResult Serve(HttpContext context, string? file)
    {
        if (string.IsNullOrEmpty(file) && context.Request.Path.Value?.EndsWith('/') != true)
        {
            // The page's relative links need the trailing slash. The location is relative too ("console/" from /console), so
            // behind a proxy that serves TradeStore under a path prefix the browser stays under it.
            return Results.Redirect(Path[1..] + "/");
        }

        if (!Files.TryGetValue(string.IsNullOrEmpty(file) ? "index.html" : file, out var entry))
        {
            return Results.NotFound();
        }

        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = SecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-cache";
        return Results.Bytes(entry.Content, entry.ContentType);
    }

    private static FrozenDictionary<string, (byte[] Content, string ContentType)> Load()
    {
        var assembly = typeof(ConsoleEndpoints).Assembly;
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            files[name[ResourcePrefix.Length..]] = (Read(assembly, name), ContentType(name));
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static string ContentType(string name) => System.IO.Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };
}
