using Microsoft.Extensions.Logging;

namespace TradeStore.Client;

/// <summary>The client's log events (ids 1500–1519).</summary>
internal static partial class Log
{
    /// <summary>
    /// A retry. The reason names the problem type (<c>503 no-leader</c>, <c>503 leadership-lost</c>, …) or the transport
    /// failure with its causes (and, for a write sent before the connection broke, that it may have been applied): they
    /// mean very different things for a write in flight. The retry goes to the configured address, not to where a
    /// redirect led.
    /// </summary>
    [LoggerMessage(EventId = 1500, Level = LogLevel.Information,
        Message = "TradeStore {Method} {Path}: {Reason}; retry {Attempt} of {MaxRetries} at {Address} in {DelayMs} ms with the same idempotency key")]
    public static partial void Retrying(ILogger logger, string method, string path, string reason, int attempt, int maxRetries, Uri address, double delayMs);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "TradeStore {Method} {Path}: redirected to {Location}")]
    public static partial void Redirected(ILogger logger, string method, string path, Uri location);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Warning, Message = "TradeStore {Method} {Path}: the HttpClient's handler followed a redirect to {Location} without the API key (401); " +
        "sent again with it. Give the client a handler with AllowAutoRedirect = false (TradeStoreClient.NewHandler()), or use new TradeStoreClient(options)")]
    public static partial void HandlerDroppedApiKey(ILogger logger, string method, string path, Uri location);
}
