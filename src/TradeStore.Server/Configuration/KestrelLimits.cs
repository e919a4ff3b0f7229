using System.Reflection;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using TradeStore.Core.Options;

namespace TradeStore.Server.Configuration;

/// <summary>
/// The <c>Kestrel</c> section. ASP.NET Core reads its <c>Endpoints</c>, <c>EndpointDefaults</c> and <c>Certificates</c>
/// itself, but not its <c>Limits</c> (a long-standing gap of ASP.NET Core: only code sets them), which it would ignore
/// without a word. TradeStore binds <c>Kestrel:Limits</c> onto the server's limits, and refuses every other key of the
/// section, which nothing would read.
/// </summary>
public static class KestrelLimits
{
    public const string SectionName = "Kestrel";

    private const string LimitsKey = "Limits";

    private const string EndpointsKey = "Endpoints";

    private const string UrlKey = "Url";

    private const string ProtocolsKey = "Protocols";

    /// <summary>The keys of the section that ASP.NET Core reads itself.</summary>
    private static readonly string[] ReadByAspNetCore = [EndpointsKey, "EndpointDefaults", "Certificates"];

    /// <summary>The section's problems, each naming its key; empty when it is fine (or absent).</summary>
    public static IReadOnlyList<string> Validate(IConfiguration configuration)
    {
        var failures = configuration.GetSection(SectionName).GetChildren()
            .Where(child => !ReadByAspNetCore.Contains(child.Key, StringComparer.OrdinalIgnoreCase) && !child.Key.Equals(LimitsKey, StringComparison.OrdinalIgnoreCase))
            .Select(child => $"{SectionName}:{child.Key}: is not read: of the Kestrel section ASP.NET Core reads {string.Join(", ", ReadByAspNetCore)}, and TradeStore {LimitsKey}.")
            .ToList();
        if (configuration.GetSection(SectionName).GetSection(LimitsKey).GetSection(nameof(KestrelServerLimits.MaxRequestBodySize)).Exists())
        {
            // By design refused, not bound: every API route sets its own body limit from Api:MaxRequestBodyBytes (RequestBody),
            // so this one changed nothing (seen: 2000 here, and a 3,000-byte POST /v1/query was answered 200).
            failures.Add($"{SectionName}:{LimitsKey}:{nameof(KestrelServerLimits.MaxRequestBodySize)}: is not used: each request's body is limited by " +
                $"{ApiOptions.SectionName}:{nameof(ApiOptions.MaxRequestBodyBytes)}, which replaces it; set that instead.");
        }

        if (Bind(configuration, new KestrelServerLimits()) is { } problem)
        {
            failures.Add(problem);
        }

        // ASP.NET Core reads the endpoints only when the server starts: a Url it cannot parse ("notaurl", port 99999) stopped
        // serve with its FormatException or ArgumentOutOfRangeException and a stack trace (exit 134).
        foreach (var endpoint in configuration.GetSection(SectionName).GetSection(EndpointsKey).GetChildren())
        {
            var url = endpoint[UrlKey];
            if (string.IsNullOrWhiteSpace(url))
            {
                failures.Add($"{endpoint.Path}:{UrlKey}: is required: the address this endpoint listens on, such as http://127.0.0.1:5080.");
            }
            else if (ServerOptions.ListenUrlProblem(url.Trim()) is { } urlProblem)
            {
                failures.Add($"{endpoint.Path}:{UrlKey}: {urlProblem}");
            }
        }

        // Kestrel reads an endpoint's Protocols with Enum.TryParse and takes a name it does not know ("Http9") as unset.
        var protocols = configuration.GetSection(SectionName).GetSection(EndpointsKey).GetChildren()
            .Prepend(configuration.GetSection(SectionName).GetSection("EndpointDefaults"))
            .Select(section => section.GetSection(ProtocolsKey));
        foreach (var given in protocols.Where(p => !string.IsNullOrWhiteSpace(p.Value)))
        {
            if (!Enum.GetNames<HttpProtocols>().Contains(given.Value!.Trim(), StringComparer.OrdinalIgnoreCase))
            {
                failures.Add($"{given.Path}: must be one of {string.Join(", ", Enum.GetNames<HttpProtocols>())}; got '{given.Value}'.");
            }
        }

        return failures;
    }

    /// <summary>
    /// Sets <paramref name="limits"/> from <c>Kestrel:Limits</c> (a validated configuration: <see cref="Validate"/>), and
    /// <c>MaxConcurrentConnections</c>, unless given there (empty: no limit), to <see cref="ConnectionLimit.Default"/>.
    /// </summary>
    /// <exception cref="ConfigurationException">A key is unknown or its value is not one the limit takes.</exception>
    public static void Apply(IConfiguration configuration, KestrelServerLimits limits)
    {
        if (Bind(configuration, limits) is { } problem)
        {
            throw new ConfigurationException(problem);
        }

        if (!configuration.GetSection(SectionName).GetSection(LimitsKey).GetSection(nameof(KestrelServerLimits.MaxConcurrentConnections)).Exists())
        {
            limits.MaxConcurrentConnections = ConnectionLimit.Default();
        }
    }

    private static string? Bind(IConfiguration configuration, KestrelServerLimits limits)
    {
        var section = configuration.GetSection(SectionName).GetSection(LimitsKey);
        if (!section.Exists())
        {
            return null;
        }

        try
        {
            section.Bind(limits, binder => binder.ErrorOnUnknownConfiguration = true);
            return null;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or TargetInvocationException)
        {
            // The binder names the key of a value it cannot convert ("…at 'Kestrel:Limits:KeepAliveTimeout'…"): said as every
            // other section's conversion failure is; a limit's own check (a setter) names none, so the keys given are listed
            // with what it said.
            if (ConversionFailure.Say(ex.Message) is { } said)
            {
                return said;
            }

            var reason = ex is TargetInvocationException { InnerException: { } refused }
                ? $"{string.Join(", ", section.AsEnumerable(makePathsRelative: true).Where(p => p.Value is not null).Select(p => $"{p.Key}={p.Value}"))}: {refused.Message}"
                : ex.InnerException is { } inner ? $"{ex.Message} {inner.Message}" : ex.Message;
            return $"{SectionName}:{LimitsKey}: {reason}";
        }
    }
}
