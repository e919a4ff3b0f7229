using Microsoft.OpenApi;
using TradeStore.Server.Api;
using TradeStore.Server.Cluster;

namespace TradeStore.Server.OpenApi;

/// <summary>
/// The response headers the server sets, declared once under <c>components/headers</c> and referenced from each response
/// that carries them, so a generated client can read them (a replay, a truncated result, when to retry, the seq to read
/// your write at). <c>OpenApiDocumentTests</c> sends real requests and checks every one of these headers it gets back is
/// declared on that operation's response.
/// </summary>
internal static class ResponseHeaders
{
    public const string Location = "Location";
    public const string RetryAfter = "Retry-After";
    public const string Truncated = "X-Truncated";
    public const string Allow = "Allow";
    public const string WwwAuthenticate = "WWW-Authenticate";

    /// <summary>The component name of the 405 answer, which no operation can list (it answers the methods a path lacks).</summary>
    public const string MethodNotAllowedResponse = "MethodNotAllowed";

    /// <summary>Every header this class declares, for tests: the ones a real answer is checked for.</summary>
    public static IReadOnlyList<string> All { get; } =
        [Location, ReadYourWrites.SeqHeader, QueryEndpoint.AppliedSeqHeader, RetryAfter, ApiResults.ReplayedHeader, Truncated, Allow, WriteGate.TermHeader, WwwAuthenticate];

    public static void AddComponents(OpenApiDocument document)
    {
        document.Components!.Headers ??= new Dictionary<string, IOpenApiHeader>();
        var headers = document.Components.Headers;
        headers[Location] = Header("201: the created trade's path, `/v1/trades/{tradeId}`. 307: the same path and query on the cluster's leader.");
        headers[ReadYourWrites.SeqHeader] = Header(
            "The last journal seq this node holds: on a write's answer, when it answered (at least the write's seq); on a read's, when the read " +
            "started, so the answer holds every event up to it; on `GET /v1/positions`, the seq the page's positions were read at (every event " +
            "up to it and none after: follow `/v1/changes?fromSeq=` it + 1 on top of them; each page has its own). Pass the one of your write's answer as `?minSeq=` to read " +
            "your write on any node. Sent to authenticated callers only (on loopback without keys, every caller).", JsonSchemaType.Integer);
        headers[QueryEndpoint.AppliedSeqHeader] = Header(
            "The journal seq DuckDB held when the query started: every write up to it is in the answer. Below `TradeStore-Seq` when DuckDB's " +
            "apply was behind the journal beyond the endpoint's few-second wait (the answer may then lack later writes).", JsonSchemaType.Integer);
        headers[RetryAfter] = Header("Seconds to wait before retrying (too-many-requests, busy, too-many-subscribers, no-leader, leadership-lost, replication-unavailable, seq-not-reached).", JsonSchemaType.Integer);
        headers[ApiResults.ReplayedHeader] = Header("`true` when the answer is the replay of an earlier request with the same Idempotency-Key: nothing was written.");
        headers[Truncated] = Header(
            "`true` when rows were left out at Security:Query:MaxRows or MaxResultBytes, else `false`. Sent when the whole answer was ready " +
            "before it was sent; a larger answer is streamed without it and says so in its body (JSON `truncated`, Arrow and Parquet metadata).");
        headers[Allow] = Header("The methods the path takes.");
        headers[WwwAuthenticate] = Header("`Bearer`: send the key as `Authorization: Bearer <key>` (every 401).");
        headers[WriteGate.TermHeader] = Header("Cluster nodes only: the leader's term (etcd election) under which the write was accepted or redirected.", JsonSchemaType.Integer);

        document.Components.Responses ??= new Dictionary<string, IOpenApiResponse>();
        document.Components.Responses[MethodNotAllowedResponse] = new OpenApiResponse
        {
            Description = "`method-not-allowed`: the path exists but not with this method (any path of this document).",
            Headers = new Dictionary<string, IOpenApiHeader> { [Allow] = Reference(Allow, document) },
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference(nameof(ApiProblem), document) },
            },
        };
    }

    /// <summary>Adds to <paramref name="response"/> (status <paramref name="status"/> of <paramref name="operation"/>) the headers the server sends with it.</summary>
    public static void Declare(OpenApiResponse response, int status, ApiOperation operation, IReadOnlyCollection<ProblemType> kinds, OpenApiDocument document)
    {
        var headers = response.Headers ??= new Dictionary<string, IOpenApiHeader>();
        // Every answer that got past authentication (ReadYourWrites runs after it): not a 401.
        if (status != 401)
        {
            headers[ReadYourWrites.SeqHeader] = Reference(ReadYourWrites.SeqHeader, document);
        }
        else
        {
            // The key handler's challenge (ApiKeyAuthenticationHandler), the one source of a 401.
            headers[WwwAuthenticate] = Reference(WwwAuthenticate, document);
        }

        if (status is >= 200 and < 300)
        {
            if (status == 201)
            {
                headers[Location] = Reference(Location, document);
            }

            if (TakesIdempotencyKey(operation))
            {
                headers[ApiResults.ReplayedHeader] = Reference(ApiResults.ReplayedHeader, document);
            }

            if (IsGatedWrite(operation) || operation.Path == ReplicationEndpoints.StreamPath)
            {
                headers[WriteGate.TermHeader] = Reference(WriteGate.TermHeader, document);
            }

            if (operation.Path == QueryEndpoint.Path)
            {
                headers[Truncated] = Reference(Truncated, document);
            }
        }

        // A query that ran answers with the seq it reflects, its failures too (QueryEndpoint.RunProblems).
        if (operation.Path == QueryEndpoint.Path && (status is >= 200 and < 300 || kinds.Any(k => QueryEndpoint.RunProblems.Contains(k.Slug))))
        {
            headers[QueryEndpoint.AppliedSeqHeader] = Reference(QueryEndpoint.AppliedSeqHeader, document);
        }

        if (kinds.Any(k => k.RetryAfter))
        {
            headers[RetryAfter] = Reference(RetryAfter, document);
        }
    }

    /// <summary>
    /// The <c>307 Temporary Redirect</c> of a write on a cluster node that is not the leader (<see cref="WriteGate"/>): the
    /// same method and body to the leader; nothing is applied here.
    /// </summary>
    public static OpenApiResponse Redirect(OpenApiDocument document) => new()
    {
        Description = "Cluster nodes only: this node is not the leader. Repeat the request (same method, body and Idempotency-Key) at `Location`, " +
            "on the leader; nothing was applied here.",
        Headers = new Dictionary<string, IOpenApiHeader>
        {
            [Location] = Reference(Location, document),
            [WriteGate.TermHeader] = Reference(WriteGate.TermHeader, document),
            [ReadYourWrites.SeqHeader] = Reference(ReadYourWrites.SeqHeader, document),
        },
    };

    /// <summary>A write the cluster's gate redirects or fences: the trade commands (<c>ClusterHosting.TradeApiRoutes</c>).</summary>
    public static bool IsGatedWrite(ApiOperation operation) => operation.Tag == "Trades" && operation.Method != "GET";

    /// <summary>The single-trade commands, which take an <c>Idempotency-Key</c> header (batch items carry theirs in the body).</summary>
    public static bool TakesIdempotencyKey(ApiOperation operation) =>
        operation.Method != "GET" && operation.Tag == "Trades" && operation.Path != "/v1/trades/batch";

    private static OpenApiHeaderReference Reference(string name, OpenApiDocument document) => new(name, document);

    private static OpenApiHeader Header(string description, JsonSchemaType type = JsonSchemaType.String) => new()
    {
        Description = description,
        Schema = new OpenApiSchema { Type = type },
    };
}
