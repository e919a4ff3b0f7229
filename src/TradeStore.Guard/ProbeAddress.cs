namespace TradeStore.Guard;

/// <summary>Derives the liveness URL from the addresses the server listens on.</summary>
public static class ProbeAddress
{
    public const string LivePath = "/health/live";

    /// <summary>
    /// The first of <paramref name="listenUrls"/> (<c>;</c>-separated, as in <c>Server:Urls</c>) with a wildcard
    /// host replaced by loopback, plus <c>/health/live</c>. Null when no address is usable.
    /// </summary>
    public static Uri? FromListenUrls(string? listenUrls)
    {
        foreach (var url in (listenUrls ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // Kestrel's wildcards (*, +) are not valid URI hosts; any-address binds answer on loopback.
            var normalized = url.Replace("://*", "://127.0.0.1", StringComparison.Ordinal)
                .Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
                .Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal)
                .Replace("://[::]", "://[::1]", StringComparison.Ordinal);
            if (Uri.TryCreate(normalized, UriKind.Absolute, out var uri)
                && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
                && uri.Port != 0)
            {
                return new UriBuilder(uri.Scheme, uri.Host, uri.Port, LivePath).Uri;
            }
        }

        return null;
    }
}
