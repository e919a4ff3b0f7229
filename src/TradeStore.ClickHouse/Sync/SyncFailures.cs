using System.Net.Sockets;

namespace TradeStore.ClickHouse.Sync;

/// <summary>ClickHouse holds events the journal does not: the two belong to different databases. The daemon pauses rather than guess.</summary>
internal sealed class SyncConflictException(string message) : Exception(message);

/// <summary>Names the kind of a sync failure (the <c>kind</c> tag of <c>tradestore.sync.failures</c>) and words it for an operator.</summary>
public static class SyncFailures
{
    /// <summary>Every value <see cref="Kind"/> returns (the <c>kind</c> tag of <c>tradestore.sync.failures</c>, each exported from the start).</summary>
    public static IReadOnlyList<string> Kinds { get; } =
        ["authentication", "missing_table", "server_error", "timeout", "connection_refused", "connection_lost", "conflict", "internal"];

    public static string Kind(Exception exception) => exception switch
    {
        ClickHouseException { IsAuthentication: true } => "authentication",
        ClickHouseException { IsMissingTable: true } => "missing_table",
        ClickHouseException => "server_error",
        TimeoutException => "timeout",
        HttpRequestException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionRefused } } => "connection_refused",
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } => "connection_refused",
        HttpRequestException => "connection_lost",
        SyncConflictException => "conflict",
        _ => "internal",
    };

    /// <summary>
    /// Whether ClickHouse may have applied a request that failed. Informational: by design the daemon reads
    /// <c>max(seq)</c> back after every failure, which covers these and costs one query.
    /// </summary>
    public static bool OutcomeUnknown(string kind) => kind is "timeout" or "connection_lost" or "internal";

    public static string Describe(Exception exception, Uri server, string database)
    {
        // By design redacted as a whole: a password in ClickHouse:Url may also sit inside an exception's message.
        var text = Core.Security.UrlRedaction.Redact(Flatten(exception));
        var at = Core.Security.UrlRedaction.Redact(server);
        return Kind(exception) switch
        {
            "authentication" => $"ClickHouse at {at} refused the credentials (check ClickHouse:User and ClickHouse:Password): {text}",
            "missing_table" => $"ClickHouse at {at} has no TradeStore tables in database '{database}' (run the ClickHouse migrations, or set Storage:AutoMigrate=true): {text}",
            "connection_refused" => $"ClickHouse at {at} refused the connection (is clickhouse-server running?): {text}",
            "connection_lost" => $"the connection to ClickHouse at {at} broke before its answer arrived: {text}",
            _ => text,
        };
    }

    private static string Flatten(Exception exception)
    {
        var parts = new List<string>();
        for (var e = exception; e is not null && parts.Count < 3; e = e.InnerException)
        {
            if (parts.Count == 0 || !parts[^1].Contains(e.Message, StringComparison.Ordinal))
            {
                parts.Add(e.Message);
            }
        }

        return string.Join(" ← ", parts);
    }
}
