using TradeStore.Core.Trades;
using TradeStore.Server.Api;
using TradeStore.Server.Changes;
using TradeStore.Server.Cluster;

namespace TradeStore.Server.OpenApi;

/// <summary>
/// A query parameter of an operation; <paramref name="Minimum"/> and <paramref name="Values"/> are the rules its schema
/// states (the smallest integer, the codes allowed), so that a generated client meets them before the server's 400.
/// </summary>
public sealed record QueryParameter(string Name, string Description, bool IsInteger = false, bool Required = false, long? Minimum = null,
    IReadOnlyList<string>? Values = null);

/// <summary>
/// What the OpenAPI document says about one route: summary, who may call it, the body, the success answer and the
/// problem types. <see cref="Request"/>/<see cref="Response"/> name the JSON type (schemas come from the API's own JSON
/// context), or <see cref="ResponseSchema"/> names a hand-described schema for answers written by hand.
/// <see cref="AlsoServes"/> lists the other media types of the success answer, chosen by <c>Accept</c>.
/// <see cref="RequestSchema"/> names a hand-described body schema, sent as <see cref="RequestContentType"/>.
/// </summary>
public sealed record ApiOperation(
    string Method,
    string Path,
    string Tag,
    string Summary,
    string Access,
    Type? Request,
    int Success,
    Type? Response,
    IReadOnlyList<string> Problems,
    IReadOnlyList<QueryParameter>? Query = null,
    string? ResponseSchema = null,
    string SuccessContentType = "application/json",
    string? Description = null,
    bool NeedsKey = true,
    IReadOnlyList<(string ContentType, string Description)>? AlsoServes = null,
    string? RequestSchema = null,
    string RequestContentType = "application/json");

/// <summary>
/// Every route the service maps, as the OpenAPI document describes it: <see cref="Operations"/> on every node, and
/// <see cref="ClusterOperations"/> on a cluster node. Tests check it against the mapped routes both ways, standalone and
/// on a cluster node.
/// </summary>
public static class ApiCatalog
{
    private static readonly string[] Read = ["validation", "unauthorized", "forbidden", "too-many-requests", "internal", "seq-not-reached"];
    /// <summary>
    /// Every command's problems; a batch's items have any of them. A write takes <c>?minSeq=</c> too (the leader waits for
    /// it), so <c>seq-not-reached</c>, and with it the parameter, are declared.
    /// </summary>
    private static readonly string[] Command =
    [
        "validation", "malformed-json", "unknown-property", "unreadable-request", "unauthorized", "forbidden", "not-found", "already-exists",
        "version-conflict", "invalid-transition", "payload-too-large", "unsupported-media-type", "idempotency-key-reused", "too-many-requests",
        "storage-failure", "internal", "busy", "unavailable", "no-leader", "leadership-lost", "replication-unavailable", "seq-not-reached",
    ];

    /// <summary>A create: the trade does not exist yet, so it has no version or status to conflict with.</summary>
    private static readonly string[] CreateCommand = [.. Command.Except(["not-found", "version-conflict", "invalid-transition"])];

    /// <summary>A command on an existing trade (amend, fill, cancel): it creates nothing, so never <c>already-exists</c>.</summary>
    private static readonly string[] TradeCommand = [.. Command.Except(["already-exists"])];

    /// <summary>A command without a body (DELETE): none of the problems of reading one.</summary>
    private static readonly string[] BodilessCommand =
        [.. TradeCommand.Except(["malformed-json", "unknown-property", "unreadable-request", "payload-too-large", "unsupported-media-type"])];

    /// <summary>What an account or symbol filter must look like (<c>QueryParameters.CheckNames</c>).</summary>
    private const string NameRule = "A name no trade can have (a character or a length a create refuses, such as a stray space) is a 400 naming it.";

    /// <summary>What a time in a query must look like: what <see cref="IsoTime"/> reads, as in a body.</summary>
    private const string TimeRule = "2026-01-02T03:04:05.123456Z or …+01:00; upper-case T and Z";

    /// <summary>The statuses a list filters on: every one but deleted (deleted trades are never listed).</summary>
    private static readonly string[] ListedStatuses =
        [.. Enum.GetValues<TradeStatus>().Where(s => s != TradeStatus.Deleted).Select(s => s.ToCode())];

    private static readonly QueryParameter[] ListQuery =
    [
        new("account", "Only this account (a key scoped to several accounts must name one; another account is 403). " + NameRule),
        new("symbol", "Only this symbol. " + NameRule),
        new("status", "new, partially_filled, filled or cancelled.", Values: ListedStatuses),
        new("from", "executedAt at or after this time: ISO 8601 with a zone, as executedAt in a body (" + TimeRule + ")."),
        new("to", "executedAt before this time: ISO 8601 with a zone, as executedAt in a body (" + TimeRule + ")."),
        new("limit", "Page size, 1 to Api:MaxPageSize (default Api:DefaultPageSize).", IsInteger: true, Minimum: 1),
        new("cursor", "nextCursor of the previous page, unchanged."),
    ];

    private static readonly QueryParameter[] HistoryQuery =
    [
        new("limit", "Page size, 1 to Api:MaxPageSize (default Api:DefaultPageSize).", IsInteger: true, Minimum: 1),
        new("cursor", "nextCursor of the previous page of this trade's history, unchanged; one of another trade's is a 400 naming cursor."),
    ];

    public static readonly IReadOnlyList<ApiOperation> Operations =
    [
        new("POST", "/v1/trades", "Trades", "Create a trade", "trader", typeof(CreateTradeRequest), 201, typeof(TradeResponse), CreateCommand,
            Description: "Send Idempotency-Key to make a retry return the first answer (Idempotent-Replayed: true) and write nothing."),
        new("POST", "/v1/trades/batch", "Trades", "Apply many commands in order, sharing group commits", "trader", typeof(List<BatchItemRequest>), 200, typeof(BatchResponse),
            [.. Command, "batch-too-large"], Description: "A JSON array, or NDJSON with Content-Type: application/x-ndjson. Not atomic: a bad item fails alone and nothing is rolled back, "
                + "so the items that succeeded are written whatever the others did; see `failed` and each result's status. An item refused busy (the write "
                + "queue full) ends what is written: every later command item is refused busy too, its detail naming the index to resend from. A body that is not a JSON array "
                + "(or NDJSON) at all is refused whole."),
        new("POST", "/v1/trades/{tradeId}/amend", "Trades", "Amend a live trade", "trader", typeof(AmendTradeRequest), 200, typeof(TradeResponse), TradeCommand),
        new("POST", "/v1/trades/{tradeId}/fill", "Trades", "Record a fill", "trader", typeof(FillTradeRequest), 200, typeof(TradeResponse), TradeCommand),
        new("POST", "/v1/trades/{tradeId}/cancel", "Trades", "Cancel a trade", "trader", typeof(CancelTradeRequest), 200, typeof(TradeResponse), TradeCommand,
            Description: "The body is optional."),
        new("DELETE", "/v1/trades/{tradeId}", "Trades", "Delete a trade", "trader", null, 200, typeof(TradeResponse), BodilessCommand,
            [new("expectedVersion", "The trade's current version.", IsInteger: true, Minimum: 1)], Description: "It takes no body: a body is a 400 naming body."),
        new("GET", "/v1/trades/{tradeId}", "Trades", "Read a trade", "reader", null, 200, typeof(TradeResponse), [.. Read, "not-found"]),
        new("GET", "/v1/trades/{tradeId}/history", "Trades", "The events of a trade, oldest first (keyset pages)", "reader", null, 200, typeof(TradeHistoryResponse), [.. Read, "not-found"],
            HistoryQuery, Description: "Pass nextCursor unchanged as cursor until it is null; limit may change between pages. A deleted trade's history stays readable."),
        new("GET", "/v1/trades", "Trades", "List live trades by executedAt, then tradeId (keyset pages)", "reader", null, 200, typeof(TradePageResponse), Read, ListQuery),
        new("GET", "/v1/positions", "Positions", "Positions of one account or of the key's accounts, by account then symbol (keyset pages)", "reader", null, 200, typeof(PositionsResponse), Read,
            [
                new("account", "Only this account (a scoped key may name only its own: 403 otherwise). " + NameRule),
                new("limit", "Page size, 1 to Api:MaxPageSize (default Api:DefaultPageSize).", IsInteger: true, Minimum: 1),
                new("cursor", "nextCursor of the previous page, unchanged, with the same account (or none); one of another account filter is a 400 naming cursor."),
            ],
            Description: "Pass nextCursor unchanged as cursor until it is null; limit may change between pages. Each page is read at one seq, its TradeStore-Seq: "
                + "the positions on it hold every event up to that seq and none after. Pages follow (account, symbol) order, so a position is never repeated or "
                + "skipped when writes land between pages; a later page may be at a later seq than an earlier one."),
        new("GET", ChangesEndpoint.Path, "Changes", "The journal as Server-Sent Events: replay, then live", "reader", null, 200, null, [.. Read, "too-many-subscribers"],
            [
                new("fromSeq", "Start at this seq (inclusive). Without it (and without Last-Event-ID) only what commits from now on. At most one past this node's " +
                    "last seq (the next commit); further on it waits up to Cluster:ReadWaitTimeout for this node to hold seq fromSeq - 1, else 503 seq-not-reached naming it.", IsInteger: true, Minimum: 1),
                new("account", "Only this account (a scoped key may name only its own: 403 otherwise). " + NameRule),
                new("symbol", "Only this symbol. " + NameRule),
            ],
            ResponseSchema: "ChangeStream", SuccessContentType: ChangesEndpoint.ContentType,
            Description: "Each event is `id: <seq>`, `event: <type>`, `data: <ChangeEvent JSON>`. Send `Last-Event-ID` to resume after an id (it wins over fromSeq). " +
                "Comments `: heartbeat` keep idle streams open. A subscriber more than Changes:MaxLagEvents behind, a stopping server, or a stream that found " +
                "an event missing from the journal gets a final `event: error` whose data is a ChangeStreamEnd with `resumeFromSeq`, and the stream closes. A position past this node's journal " +
                "(the client holds events this node does not, yet) waits up to Cluster:ReadWaitTimeout, then is 503 `seq-not-reached` with Retry-After and " +
                "`field` fromSeq or Last-Event-ID, before any byte of the stream."),
        new("POST", "/v1/query", "SQL", "Run one read-only SELECT on DuckDB", "admin", null, 200, null,
            ["validation", "malformed-json", "unsupported-media-type", "payload-too-large", "query-rejected", "query-timeout", "query-memory", "unauthorized", "forbidden",
                "too-many-requests", "storage-failure", "internal", "seq-not-reached", "query-starved"],
            ResponseSchema: "QueryResult", RequestSchema: "QueryRequest",
            AlsoServes:
            [
                ("text/csv", "Accept: text/csv. A header row of column names, then one line per row (RFC 4180)."),
                (ArrowQueryResultWriter.MediaType, "Accept: application/vnd.apache.arrow.stream. An Arrow IPC stream; a truncated one ends with an empty batch whose metadata `tradestore.truncated` is `rows` or `bytes`."),
                (ParquetQueryResultWriter.MediaType, "Accept: application/vnd.apache.parquet. A Parquet file; a truncated one carries the file metadata `tradestore.truncated` = `rows` or `bytes`."),
            ],
            Description: "Body {\"sql\": \"SELECT …\"}. Send Accept: text/csv for CSV, application/vnd.apache.arrow.stream for an Arrow IPC stream, application/vnd.apache.parquet for a Parquet file (X-Truncated says whether rows were cut at Security:Query:MaxRows or MaxResultBytes)."),
        new("GET", "/health/live", "Health", "Whether the process serves requests", "open", null, 200, null, [], ResponseSchema: "Live", NeedsKey: false),
        new("GET", "/health/ready", "Health", "Each dependency: healthy, degraded, unhealthy or disabled (503 when unhealthy)", "open", null, 200, null, [],
            ResponseSchema: "Health", NeedsKey: false),
        new("GET", "/metrics", "Metrics", "Prometheus text exposition", "loopback callers and admin keys (Security:Metrics)", null, 200, null, ["unauthorized", "forbidden"],
            ResponseSchema: "Text", SuccessContentType: "text/plain"),
    ];

    /// <summary>The routes a node maps only with <c>Cluster:Etcd</c> set: the cluster's status, and the replication between nodes.</summary>
    public static readonly IReadOnlyList<ApiOperation> ClusterOperations =
    [
        new("GET", ClusterEndpoint.Path, "Cluster", "The leader, its term, and every node with its role, applied seq and lag", "reader", null, 200, null,
            [.. Read, "etcd-unavailable"], ResponseSchema: "ClusterStatus",
            Description: "As etcd holds it now, read by the node asked: any node answers the same. Members without a live registration show as `stopped` or `unreachable`, with `lastSeen`."),
        new("POST", ReplicationEndpoints.StreamPath, "Replication", "A follower's journal stream (between nodes)", ReplicationAccess, null, 200, null,
            ["validation", "malformed-json", "unsupported-media-type", "unauthorized", "forbidden", "no-leader", "log-diverged", "log-recycled", "internal"],
            ResponseSchema: "ReplicationStream", SuccessContentType: ReplicationFrames.ContentType, RequestSchema: "ReplicationStreamRequest",
            Description: "Followers call it; clients do not. The leader checks that the follower's last record is in its own log with the same term, then " +
                "streams the journal records from fromSeq as they are on disk, and each new one as soon as it is written, until its term ends."),
        new("POST", ReplicationEndpoints.AcksPath, "Replication", "A follower's acknowledgements for one stream (between nodes)", ReplicationAccess, null, 204, null,
            ["validation", "unauthorized", "forbidden", "stale-term", "internal"],
            [
                new("node", "The follower's Cluster:Node.", Required: true),
                new("incarnation", "The identity of the follower's data directory.", Required: true),
                new("term", "The leader term the follower follows.", IsInteger: true, Required: true),
            ],
            RequestSchema: "ReplicationAcks", RequestContentType: AckFrames.ContentType,
            Description: "Followers call it; clients do not. A body that stays open: each 8-byte frame is the seq up to which the follower's log is durable. " +
                "Ends with 204 when the follower closes it, 409 `stale-term` once the term is not the one this node leads in."),
    ];

    /// <summary>The operations a node maps: <see cref="Operations"/>, and on a cluster node <see cref="ClusterOperations"/> too.</summary>
    public static IReadOnlyList<ApiOperation> For(bool clusterNode) => clusterNode ? [.. Operations, .. ClusterOperations] : Operations;

    private const string ReplicationAccess = "admin without Accounts: the followers' Cluster:ReplicationKey";
}
