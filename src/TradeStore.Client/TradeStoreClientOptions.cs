namespace TradeStore.Client;

/// <summary>
/// Where the service is and how patiently to talk to it. Validated when the client is made, so a bad value fails
/// at start-up rather than on the first trade.
/// </summary>
public sealed class TradeStoreClientOptions
{
    /// <summary>
    /// The service's address, e.g. <c>http://127.0.0.1:5080</c>. A path is kept, with or without a trailing slash:
    /// behind a proxy at <c>http://gateway/tradestore</c> the client asks for <c>http://gateway/tradestore/v1/…</c>.
    /// </summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>
    /// The API key (<c>ts_…</c>), sent as <c>Authorization: Bearer</c>; none (null or empty) for the embedded default on
    /// loopback. Printable ASCII without spaces: a key read from a file with its line break, or pasted with a space, is
    /// refused by <see cref="Validate"/> (the message never shows the key).
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// Longest wait for one attempt's answer; a longer one is abandoned and retried like a dropped connection (a write
    /// so abandoned is in doubt). 15 s: above the server's own bounds (a write is answered within about 2.25 s even
    /// when its followers do not acknowledge it, a query within <c>Security:Query:Timeout</c>, 10 s), so only a node
    /// that stopped answering (paused, cut off) reaches it. A retry then goes to <see cref="BaseAddress"/>, which
    /// redirects to the new leader; when <see cref="BaseAddress"/> is itself the stopped node, a call gives up after
    /// (1 + <see cref="MaxRetries"/>) × this plus the back-off: about 2.5 min with the defaults.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Attempts after the first on 503, 429, a dropped connection or a timeout (0–10). The default 8 waits 5.9–11.75 s
    /// in all between attempts (250 ms doubling to 2 s, with jitter; a <c>Retry-After</c> instead where the server sends
    /// one), enough to ride through a leader failover (p99 3.7 s at the default lease).
    /// </summary>
    public int MaxRetries { get; set; } = 8;

    /// <summary>Longest pause before a retry, also when the server's <c>Retry-After</c> asks for more.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Trades (or events, or positions) asked for per page when <see cref="TradeStoreClient.TradesAsync(TradeFilter?, CancellationToken)"/> (or <see cref="TradeStoreClient.HistoryEventsAsync(string, CancellationToken)"/>, <see cref="TradeStoreClient.PositionsAsync(string?, CancellationToken)"/>) follows the cursors (1–100000; the server's <c>Api:MaxPageSize</c> bounds it).</summary>
    public int PageSize { get; set; } = 1000;

    private static readonly TimeSpan MaxTimeout = TimeSpan.FromMilliseconds(int.MaxValue);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad option.</summary>
    public void Validate()
    {
        if (BaseAddress is null || !BaseAddress.IsAbsoluteUri || (BaseAddress.Scheme != Uri.UriSchemeHttp && BaseAddress.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"{nameof(BaseAddress)}: must be an absolute http:// or https:// address, got '{BaseAddress}'.", nameof(BaseAddress));
        }

        if (ApiKey is { Length: > 0 } key && key.AsSpan().IndexOfAnyExceptInRange('!', '~') is var bad and >= 0)
        {
            throw new ArgumentException(
                $"{nameof(ApiKey)}: must be printable ASCII without spaces (a ts_… key), got U+{(int)key[bad]:X4} at index {bad} of {key.Length} characters (a line break read with it from a file?).",
                nameof(ApiKey));
        }

        // At most what HttpClient.Timeout takes (Int32.MaxValue ms): a longer one (TimeSpan.MaxValue for "no limit") made
        // every call throw ArgumentOutOfRangeException for a parameter 'delay' the caller never set.
        if ((Timeout <= TimeSpan.Zero || Timeout > MaxTimeout) && Timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException(
                $"{nameof(Timeout)}: must be positive and at most {MaxTimeout} (about 24.8 days), or Timeout.InfiniteTimeSpan for none, got {Timeout}.",
                nameof(Timeout));
        }

        if (MaxRetries is < 0 or > 10)
        {
            throw new ArgumentException($"{nameof(MaxRetries)}: must be 0–10, got {MaxRetries}.", nameof(MaxRetries));
        }

        if (MaxRetryDelay < TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(MaxRetryDelay)}: must not be negative, got {MaxRetryDelay}.", nameof(MaxRetryDelay));
        }

        if (PageSize is < 1 or > 100_000)
        {
            throw new ArgumentException($"{nameof(PageSize)}: must be 1–100000, got {PageSize}.", nameof(PageSize));
        }
    }
}
