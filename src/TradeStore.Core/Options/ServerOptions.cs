using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.RegularExpressions;

namespace TradeStore.Core.Options;

/// <summary>HTTP host settings (section <c>Server</c>).</summary>
public sealed partial class ServerOptions : IValidatableObject
{
    public const string SectionName = "Server";

    /// <summary>Addresses Kestrel listens on, separated by <c>;</c>.</summary>
    /// <value>Default <c>http://127.0.0.1:5080</c>: loopback only, so the embedded default is never exposed by accident.</value>
    public string Urls { get; set; } = "http://127.0.0.1:5080";

    /// <summary>How long a graceful shutdown may take before the host gives up waiting.</summary>
    /// <value>Default 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "must be between 00:00:01 and 00:10:00.")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether <c>GET /metrics</c> serves Prometheus text where <see cref="Urls"/> listen; <c>Security:Metrics</c> says who may read it.</summary>
    /// <value>Default <c>true</c>: the default listener is loopback only.</value>
    public bool MetricsEnabled { get; set; } = true;

    /// <summary>
    /// Whether requests run on the socket event threads that read them (Kestrel's inline scheduling, with .NET's
    /// <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c> unless the environment sets that variable): a request then
    /// costs no hand-off between threads, which is most of what one sequential client waits for besides the fsync.
    /// </summary>
    /// <remarks>
    /// On a cluster node (<c>Cluster:Etcd</c> set) too: its etcd connections are read by a thread of their own, so
    /// the lease's renewals, one of which read late stops acknowledgements, never wait behind requests.
    /// </remarks>
    /// <value>Default <c>true</c>. <c>false</c> runs requests on the thread pool, as ASP.NET Core does by default.</value>
    public bool InlineScheduling { get; set; } = true;

    /// <summary>
    /// The port of an <c>http(s)://host:port</c> address when it is a number beyond 65535, which <see cref="Uri"/> refuses
    /// with no reason: the address would otherwise be called "not an absolute http:// or https:// address".
    /// </summary>
    private static string? PortOutOfRange(string url)
    {
        var match = PortPattern().Match(url);
        return match.Success && (match.Groups["port"].Value.Length > 5 || int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture) > 65535)
            ? match.Groups["port"].Value
            : null;
    }

    [GeneratedRegex(@"^https?://(\[[^\]]*\]|[^/:\[\]]*):(?<port>[0-9]+)(/.*)?$", RegexOptions.IgnoreCase)]
    private static partial Regex PortPattern();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var urls = Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (urls.Length == 0)
        {
            yield return new ValidationResult("must list at least one http:// or https:// address.", [nameof(Urls)]);
        }

        foreach (var url in urls)
        {
            if (ListenUrlProblem(url) is { } problem)
            {
                yield return new ValidationResult(problem, [nameof(Urls)]);
            }
        }
    }

    /// <summary>
    /// What is wrong with one listen address (of <see cref="Urls"/>, or a <c>Kestrel:Endpoints:NAME:Url</c>); null when
    /// Kestrel can bind it.
    /// </summary>
    public static string? ListenUrlProblem(string url)
    {
        // Kestrel accepts wildcard hosts (http://*:80, http://+:80) that Uri rejects; check the scheme and port only.
        var normalized = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
        if (PortOutOfRange(normalized) is { } port)
        {
            return $"'{url}': the port must be 1-65535, got {port}.";
        }

        return !Uri.TryCreate(normalized, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            ? $"'{url}' is not an absolute http:// or https:// address."
            : null;
    }
}
