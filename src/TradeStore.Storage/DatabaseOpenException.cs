namespace TradeStore.Storage;

/// <summary>
/// DuckDB could not open or replay the database (for example a damaged WAL). Nothing has been moved
/// or deleted; the message carries DuckDB's own words so an operator can decide what to do.
/// </summary>
public sealed class DatabaseOpenException(string path, string duckDbMessage, Exception inner)
    : Exception(
        $"DuckDB could not open {path}: {duckDbMessage} No file was moved or deleted. " +
        "To rebuild it: tradestore recover --from clickhouse --set-aside (the damaged files are kept in a damaged-<time> folder), " +
        "then tradestore recover --from redis for the tail ClickHouse had not received yet.", inner)
{
    public string DatabasePath { get; } = path;

    public string DuckDbMessage { get; } = duckDbMessage;
}
