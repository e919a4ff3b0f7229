using Microsoft.Extensions.Logging;

namespace TradeStore.Server;

/// <summary>Log messages of the host. Event ids are stable: dashboards and alerts key on them, so never renumber.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "TradeStore serving {Urls}; database {DatabasePath} (DuckDB {DuckDbVersion}); Redis {Redis}; ClickHouse {ClickHouse}")]
    public static partial void Started(ILogger logger, string urls, string databasePath, string duckDbVersion, string redis, string clickHouse);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "TradeStore stopped; closing database {DatabasePath}")]
    public static partial void Stopped(ILogger logger, string databasePath);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "The last shutdown was not clean: DuckDB replayed a WAL; a copy of it is kept at {WalCopy}. If a Redis or ClickHouse checkpoint is now ahead of the journal, recover the tail with `tradestore recover --from redis`.")]
    public static partial void WalPreserved(ILogger logger, string walCopy);

    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Applied schema migration {Migration} to {Target} in {DurationMs:F1} ms")]
    public static partial void MigrationApplied(ILogger logger, string migration, string target, double durationMs);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "{Target} is at schema version {Version}, the latest this binary knows")]
    public static partial void SchemaCurrent(ILogger logger, string target, int version);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "{Target}: schema not migrated at start-up ({Reason}); serving goes on: the ClickHouse sync applies it when ClickHouse answers, or run tradestore migrate up --target clickhouse")]
    public static partial void ClickHouseMigrationDeferred(ILogger logger, string target, string reason);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Error, Message = "ClickHouse schema refused: {Reason}")]
    public static partial void ClickHouseSchemaRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 1100, Level = LogLevel.Error, Message = "API request {Method} {Path} failed unexpectedly")]
    public static partial void ApiRequestFailed(ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "{Report}")]
    public static partial void IntegrityVerified(ILogger logger, string report);
}
