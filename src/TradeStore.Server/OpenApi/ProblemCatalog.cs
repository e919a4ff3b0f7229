namespace TradeStore.Server.OpenApi;

/// <summary>
/// One problem <c>type</c> of the API: its slug (after <c>urn:tradestore:problem:</c>), status and when it is answered;
/// <see cref="RetryAfter"/> when the answer carries a <c>Retry-After</c> header (declared on its responses).
/// </summary>
public sealed record ProblemType(string Slug, int Status, string When, bool RetryAfter = false);

/// <summary>Every problem type the API answers, for the OpenAPI document (each response lists the types its status carries).</summary>
public static class ProblemCatalog
{
    public static readonly IReadOnlyList<ProblemType> All =
    [
        new("validation", 400, "a field, query parameter or header breaks a rule; `field` names it"),
        new("malformed-json", 400, "not JSON, wrong JSON type, duplicate property, a string that is not valid Unicode (a lone UTF-16 surrogate escape)"),
        new("unknown-property", 400, "a property the endpoint does not take (nothing is mass-assigned)"),
        new("unreadable-request", 400, "the body broke HTTP framing mid-stream (status 400), or arrived slower than the server's minimum data rate (status 408)"),
        new("query-rejected", 400, "the SQL is not exactly one SELECT, or DuckDB refused it"),
        new("unauthorized", 401, "no key, a malformed Authorization header, or an unknown key"),
        new("forbidden", 403, "the key's role does not allow the endpoint, or the account is outside the key's scope"),
        new("not-found", 404, "unknown or deleted trade, or a trade of an account outside the key's scope (answered alike)"),
        new("unknown-endpoint", 404, "no endpoint at this path (a mistyped path is never taken for a missing trade)"),
        new("method-not-allowed", 405, "the path exists but not with this method; `Allow` lists the ones it takes"),
        new("already-exists", 409, "create of an existing tradeId"),
        new("version-conflict", 409, "stale expectedVersion; `currentVersion` says the current one"),
        new("invalid-transition", 409, "the trade's status forbids the command (amend, fill or cancel of a filled or cancelled trade); `field` is status, with `currentVersion`"),
        new("payload-too-large", 413, "body over Api:MaxRequestBodyBytes"),
        new("batch-too-large", 413, "more than Api:MaxBatchSize items"),
        new("unsupported-media-type", 415, "a body that is not application/json (or NDJSON for the batch), or that is compressed (Content-Encoding)"),
        new("idempotency-key-reused", 422, "the caller's Idempotency-Key was used before for a different request (another trade, command or body)"),
        new("query-timeout", 422, "the query ran past Security:Query:Timeout"),
        new("query-memory", 422, "the query needed more than DuckDB's Storage:DuckDbMemoryLimit, or the server process grew by more than Security:Query:MaxMemory while it ran"),
        new("too-many-requests", 429, "over the per-key rate or concurrency limits (change streams: Changes:MaxSubscribersPerKey); Retry-After in seconds", RetryAfter: true),
        new("storage-failure", 500, "the journal log append failed (for example a full disk); nothing of its batch was acknowledged. On POST /v1/query: DuckDB failed for good (a FATAL error invalidated it) and the server stops to be restarted"),
        new("internal", 500, "unexpected error"),
        new("busy", 503, "the write queue is full; Retry-After: 1; nothing written", RetryAfter: true),
        new("unavailable", 503, "the writer is stopping"),
        new("too-many-subscribers", 503, "Changes:MaxSubscribers change streams are open; Retry-After: 5", RetryAfter: true),
        new("no-leader", 503, "a cluster node that is not the leader knows no leader to redirect to; Retry-After", RetryAfter: true),
        new("leadership-lost", 503, "the node's etcd lease ran out while the write was in flight; it may not acknowledge", RetryAfter: true),
        new("replication-unavailable", 503, "Cluster:SyncReplicas followers did not acknowledge the write within Cluster:ReplicationTimeout; not acknowledged, retry with the same Idempotency-Key after Retry-After", RetryAfter: true),
        new("query-starved", 503, "the query reached Security:Query:Timeout having waited at least half of it for a CPU (queries run at the lowest CPU priority; the node was busy); Retry-After: 5", RetryAfter: true),
        new("seq-not-reached", 503, "a read with ?minSeq=N, or GET /v1/changes resuming after seq N (fromSeq N+1, Last-Event-ID N), waited Cluster:ReadWaitTimeout and this node still holds less than seq N; Retry-After", RetryAfter: true),
        new("stale-term", 409, "a replication acknowledgement of a term this node does not lead in (ignored)"),
        new("log-diverged", 409, "a follower's journal log holds records the leader does not; the follower stops (exit code 6)"),
        new("log-recycled", 410, "a follower asked for journal records the leader recycled behind a DuckDB checkpoint"),
        new("etcd-unavailable", 503, "GET /v1/cluster could not read the cluster's status from etcd within 2 s; `field` is Cluster:Etcd"),
    ];

    /// <summary>The types that <paramref name="status"/> may carry, limited to <paramref name="slugs"/> when given.</summary>
    public static IEnumerable<ProblemType> ForStatus(int status, IReadOnlyCollection<string>? slugs = null) =>
        All.Where(p => p.Status == status && (slugs is null || slugs.Contains(p.Slug)));
}
