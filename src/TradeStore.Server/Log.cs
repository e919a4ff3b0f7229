using Microsoft.Extensions.Logging;

namespace TradeStore.Server;

/// <summary>Log messages of the host. Event ids are stable: dashboards and alerts key on them, so never renumber.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "TradeStore serving {Urls}; database {DatabasePath} (DuckDB {DuckDbVersion}); Redis {Redis}; ClickHouse {ClickHouse}")]
    public static partial void Started(ILogger logger, string urls, string databasePath, string duckDbVersion, string redis, string clickHouse);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "TradeStore stopped; closing database {DatabasePath}")]
    public static partial void Stopped(ILogger logger, string databasePath);

    [LoggerMessage(EventId = 1100, Level = LogLevel.Error, Message = "API request {Method} {Path} failed unexpectedly")]
    public static partial void ApiRequestFailed(ILogger logger, string method, string path, Exception exception);
}
