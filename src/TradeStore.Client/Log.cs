using Microsoft.Extensions.Logging;

namespace TradeStore.Client;

/// <summary>The client's log events (ids 1500–1519).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1500, Level = LogLevel.Information, Message = "TradeStore {Method} {Path}: {Reason}; retry {Attempt} of {MaxRetries} in {DelayMs} ms with the same idempotency key")]
    public static partial void Retrying(ILogger logger, string method, string path, string reason, int attempt, int maxRetries, double delayMs);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "TradeStore {Method} {Path}: redirected to {Location}")]
    public static partial void Redirected(ILogger logger, string method, string path, Uri location);
}
