using Microsoft.Extensions.Configuration;
using TradeStore.Core.Options;

namespace TradeStore.Server.Configuration;

/// <summary>
/// An <c>https://</c> listen address needs a server certificate, which ASP.NET Core takes from
/// <c>Kestrel:Certificates:Default</c> or the endpoint's own <c>Kestrel:Endpoints:NAME:Certificate</c> (<c>Path</c>, with
/// <c>KeyPath</c> for a PEM key and <c>Password</c>, or <c>Subject</c> in a certificate store). By design checked with the
/// rest of the configuration: Kestrel found a missing one only while starting, after the database was opened, and serve
/// died of its InvalidOperationException ("No server certificate was specified, and the default developer certificate
/// could not be found") with a stack trace, exit 134. The developer certificate is not looked for: it is for development.
/// </summary>
public static class HttpsCertificates
{
    private const string Certificate = "Certificate";

    /// <summary>The https addresses without a certificate, and certificate files that do not exist, each naming its key.</summary>
    public static IReadOnlyList<string> Validate(IConfiguration configuration)
    {
        var failures = new List<string>();
        var fallback = configuration.GetSection($"{KestrelLimits.SectionName}:Certificates:Default");
        CheckFiles(fallback, failures);
        var endpoints = configuration.GetSection($"{KestrelLimits.SectionName}:Endpoints").GetChildren().ToList();
        foreach (var endpoint in endpoints)
        {
            var own = endpoint.GetSection(Certificate);
            CheckFiles(own, failures);
            if (IsHttps(endpoint["Url"]) && !Names(own) && !Names(fallback))
            {
                failures.Add($"{endpoint.Path}:Url: '{endpoint["Url"]}' needs a server certificate: {HowToGiveOne($"{endpoint.Path}:{Certificate}")}");
            }
        }

        // Kestrel:Endpoints, when configured, replace Server:Urls (BoundAddresses).
        var serverUrls = $"{ServerOptions.SectionName}:{nameof(ServerOptions.Urls)}";
        if (endpoints.Count == 0 && !Names(fallback))
        {
            failures.AddRange((configuration[serverUrls] ?? string.Empty)
                .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(IsHttps)
                .Select(url => $"{serverUrls}: '{url}' needs a server certificate: {HowToGiveOne(null)}"));
        }

        return failures;
    }

    private static bool IsHttps(string? url) => url?.Trim().StartsWith("https://", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>Whether the section names a certificate: a file (<c>Path</c>) or one in a store (<c>Subject</c>).</summary>
    private static bool Names(IConfigurationSection certificate) =>
        !string.IsNullOrWhiteSpace(certificate["Path"]) || !string.IsNullOrWhiteSpace(certificate["Subject"]);

    private static void CheckFiles(IConfigurationSection certificate, List<string> failures)
    {
        foreach (var key in (ReadOnlySpan<string>)["Path", "KeyPath"])
        {
            // Where ASP.NET Core looks: a relative path is taken from the content root, the binary's directory.
            if (certificate[key] is { Length: > 0 } path && Path.Combine(AppContext.BaseDirectory, path) is var full && !File.Exists(full))
            {
                failures.Add($"{certificate.Path}:{key}: the file {Path.GetFullPath(full)} does not exist (a relative path is taken from {AppContext.BaseDirectory}).");
            }
        }
    }

    private static string HowToGiveOne(string? endpointKey) =>
        $"set {(endpointKey is null ? string.Empty : endpointKey + ":Path or ")}Kestrel:Certificates:Default:Path (a .pfx with :Password, or a .pem " +
        "certificate with :KeyPath), or listen on http://.";
}
