using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using TradeStore.Cluster;
using TradeStore.Server.Api;
using TradeStore.Server.Changes;
using TradeStore.Server.Cluster;

namespace TradeStore.Server.OpenApi;

/// <summary>
/// Writes the <see cref="ApiCatalog"/> into the OpenAPI document: every route (also those mapped as middleware: health,
/// metrics, the change stream), its parameters, body, success answer and problem types, the Bearer scheme and the
/// decimal rule. Schemas of JSON types come from the API's own source-generated JSON context.
/// </summary>
internal sealed class ApiDocumentTransformer : IOpenApiDocumentTransformer
{
    public const string BearerScheme = "Bearer";
    private const string ProblemJson = "application/problem+json";

    private const string Overview =
        "TradeStore captures trades durably in a checksummed journal log, applied to DuckDB, and serves their current state, history, positions and a live change feed.\n\n" +
        "**Decimals.** `quantity`, `price` and every money field are accepted as a JSON number **or** a decimal string (`100.25` or `\"100.25\"`) " +
        "and parsed exactly, never through floating point: at most 8 decimals and 10 integer digits. Answers write them as JSON numbers with " +
        "their exact digits (no exponent, no trailing zeros): parse them as decimals.\n\n" +
        "**Times** are ISO 8601 with a zone; answers are UTC with microseconds.\n\n" +
        "**Errors** are RFC 7807 `application/problem+json` (`ApiProblem`); `type` is `urn:tradestore:problem:<slug>` and `field` names the bad input. " +
        "A refused request changes nothing.\n\n" +
        "**Authentication:** `Authorization: Bearer <key>`. With no keys configured, loopback callers have every role.\n\n" +
        "**Headers.** Answers carry `TradeStore-Seq` (pass it as `?minSeq=` to read your write on another node); each response lists " +
        "the headers it carries. A method a path does not take answers 405 `method-not-allowed` with `Allow` " +
        "(`#/components/responses/MethodNotAllowed`). On a cluster node that is not the leader, writes answer 307 to the leader.";

    public async Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo { Title = "TradeStore API", Version = "v1", Description = Overview + "\n\n" + ProblemTable() };
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "ts_<id>_<secret>",
            Description = "An API key made by `tradestore keys new`; its role (reader, trader, admin) and accounts decide what it may do.",
        };

        // A cluster node maps the cluster's routes too (ClusterHosting.Map); a standalone node answers them 404.
        var operations = ApiCatalog.For(clusterNode: context.ApplicationServices.GetService<ClusterState>() is not null);
        var types = operations.SelectMany(o => new[] { o.Request, o.Response }).OfType<Type>()
            .Select(ItemType).Append(typeof(ApiProblem)).Append(typeof(TradeEventResponse)).Append(typeof(ChangeStreamEnd)).Distinct();
        foreach (var type in types)
        {
            var schema = await context.GetOrCreateSchemaAsync(type, null, cancellationToken);
            document.Components.Schemas[SchemaName(type)] = schema;
        }

        foreach (var (name, schema) in HandSchemas.All())
        {
            document.Components.Schemas[name] = schema;
        }

        ResponseHeaders.AddComponents(document);

        document.Tags ??= new HashSet<OpenApiTag>();
        foreach (var tag in operations.Select(o => o.Tag).Distinct())
        {
            document.Tags.Add(new OpenApiTag { Name = tag });
        }

        document.Paths ??= new OpenApiPaths();
        foreach (var operation in operations)
        {
            if (!document.Paths.TryGetValue(operation.Path, out var existing) || existing is not OpenApiPathItem item)
            {
                item = new OpenApiPathItem();
                document.Paths[operation.Path] = item;
            }

            item.Operations ??= new Dictionary<HttpMethod, OpenApiOperation>();
            var method = HttpMethod.Parse(operation.Method);
            if (!item.Operations.TryGetValue(method, out var target))
            {
                target = new OpenApiOperation();
                item.Operations[method] = target;
            }

            Describe(target, operation, document);
        }

        RemoveHeadOperations(document);
        RemoveUnusedTags(document);
    }

    /// <summary>
    /// Drops the operations the framework describes for <c>HEAD</c>: every read that takes GET takes HEAD too (the same
    /// status and headers, no body), which HTTP itself says; a copy of each read would only double the reference page.
    /// </summary>
    private static void RemoveHeadOperations(OpenApiDocument document)
    {
        foreach (var path in document.Paths.Values.OfType<OpenApiPathItem>())
        {
            path.Operations?.Remove(HttpMethod.Head);
        }
    }

    /// <summary>
    /// Drops the document tags no operation uses. The framework tags each endpoint with its declaring class
    /// (<c>QueryEndpoint</c>, <c>TradeCommandEndpoints</c>) and lists those names in the document; <see cref="Describe"/>
    /// replaces each operation's tags with its catalog tag, so those names would show as empty groups on the reference page.
    /// </summary>
    private static void RemoveUnusedTags(OpenApiDocument document)
    {
        var used = document.Paths.Values.SelectMany(path => path.Operations?.Values ?? Enumerable.Empty<OpenApiOperation>())
            .SelectMany(operation => operation.Tags ?? Enumerable.Empty<OpenApiTagReference>())
            .Select(tag => tag.Name)
            .ToHashSet(StringComparer.Ordinal);
        foreach (var unused in document.Tags!.Where(tag => tag.Name is null || !used.Contains(tag.Name)).ToList())
        {
            document.Tags!.Remove(unused);
        }
    }

    /// <summary>The component name of a JSON type: <c>TradeResponse</c>, <c>ChangeEvent</c> for the change feed's event.</summary>
    public static string SchemaName(Type type) => type == typeof(TradeEventResponse) ? "TradeEvent" : type.Name;

    private static Type ItemType(Type type) => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>) ? type.GetGenericArguments()[0] : type;

    private static void Describe(OpenApiOperation target, ApiOperation operation, OpenApiDocument document)
    {
        target.Summary = operation.Summary;
        target.Description = $"{operation.Description}{(operation.Description is null ? "" : "\n\n")}Access: {operation.Access}.".Trim();
        target.OperationId = OperationId(operation);
        target.Tags = new HashSet<OpenApiTagReference> { new(operation.Tag, document) };
        target.Parameters = Parameters(operation);
        target.RequestBody = Body(operation, document);
        target.Security = operation.NeedsKey
            ? [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [] }]
            : [];
        var success = new OpenApiResponse
        {
            Description = operation.Success switch { 201 => "Created", 204 => "No Content", _ => "OK" },
            Content = operation.Success == 204 ? null : new Dictionary<string, OpenApiMediaType>
            {
                [operation.SuccessContentType] = new() { Schema = SuccessSchema(operation, document) },
            },
        };
        foreach (var (contentType, description) in operation.AlsoServes ?? [])
        {
            success.Content![contentType] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = description } };
        }

        ResponseHeaders.Declare(success, operation.Success, operation, [], document);
        var responses = new OpenApiResponses { [operation.Success.ToString(System.Globalization.CultureInfo.InvariantCulture)] = success };
        if (ResponseHeaders.IsGatedWrite(operation))
        {
            responses["307"] = ResponseHeaders.Redirect(document);
        }

        if (operation.Path == "/health/ready")
        {
            responses["503"] = new OpenApiResponse
            {
                Description = "A required dependency (DuckDB) is unhealthy",
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = new OpenApiSchemaReference("Health", document) } },
            };
            ResponseHeaders.Declare((OpenApiResponse)responses["503"], 503, operation, [], document);
        }

        foreach (var status in ProblemCatalog.All.Where(p => operation.Problems.Contains(p.Slug)).Select(p => p.Status).Distinct().Order())
        {
            var kinds = ProblemCatalog.ForStatus(status, operation.Problems.ToHashSet()).ToList();
            var response = new OpenApiResponse
            {
                Description = string.Join("; ", kinds.Select(k => $"`{k.Slug}`: {k.When}")),
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    [ProblemJson] = new() { Schema = new OpenApiSchemaReference(nameof(ApiProblem), document) },
                },
            };
            ResponseHeaders.Declare(response, status, operation, kinds, document);
            responses[status.ToString(System.Globalization.CultureInfo.InvariantCulture)] = response;
        }

        target.Responses = responses;
    }

    private static IOpenApiSchema SuccessSchema(ApiOperation operation, OpenApiDocument document) =>
        operation.Response is { } type ? new OpenApiSchemaReference(SchemaName(type), document) : new OpenApiSchemaReference(operation.ResponseSchema!, document);

    private static OpenApiRequestBody? Body(ApiOperation operation, OpenApiDocument document)
    {
        if (operation.RequestSchema is { } named)
        {
            return new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType> { [operation.RequestContentType] = new() { Schema = new OpenApiSchemaReference(named, document) } },
            };
        }

        if (operation.Request is not { } type)
        {
            return null;
        }

        var item = ItemType(type);
        IOpenApiSchema schema = item == type
            ? new OpenApiSchemaReference(SchemaName(type), document)
            : new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchemaReference(SchemaName(item), document) };
        var content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } };
        if (item != type)
        {
            content["application/x-ndjson"] = new OpenApiMediaType
            {
                Schema = new OpenApiSchemaReference(SchemaName(item), document),
            };
        }

        return new OpenApiRequestBody { Required = type != typeof(CancelTradeRequest), Content = content };
    }

    private static List<IOpenApiParameter> Parameters(ApiOperation operation)
    {
        var parameters = new List<IOpenApiParameter>();
        foreach (var segment in operation.Path.Split('/').Where(s => s.StartsWith('{')))
        {
            parameters.Add(new OpenApiParameter
            {
                Name = segment.Trim('{', '}'),
                In = ParameterLocation.Path,
                Required = true,
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                Description = "1–64 characters of A-Z a-z 0-9 . _ : -",
            });
        }

        foreach (var query in operation.Query ?? [])
        {
            parameters.Add(new OpenApiParameter
            {
                Name = query.Name,
                In = ParameterLocation.Query,
                Required = query.Required,
                Description = query.Description,
                Schema = new OpenApiSchema
                {
                    Type = query.IsInteger ? JsonSchemaType.Integer : JsonSchemaType.String,
                    Format = query.IsInteger ? "int64" : null,
                    Minimum = query.Minimum?.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Enum = query.Values?.Select(v => (JsonNode)JsonValue.Create(v)).ToList(),
                },
            });
        }

        if (ResponseHeaders.TakesIdempotencyKey(operation))
        {
            parameters.Add(new OpenApiParameter
            {
                Name = ApiResults.IdempotencyKeyHeader,
                In = ParameterLocation.Header,
                Description = "1–128 printable characters; a retry with the same key returns the first answer and writes nothing. Only an applied command keeps its key: a refused one (4xx) is decided again when sent again.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 128 },
            });
        }

        if (operation.Problems.Contains("seq-not-reached"))
        {
            parameters.Add(new OpenApiParameter
            {
                Name = ReadYourWrites.MinSeqParameter,
                In = ParameterLocation.Query,
                Description = "Read your writes on any node: wait up to Cluster:ReadWaitTimeout until this node holds this seq (the TradeStore-Seq header of your write's answer), else 503 seq-not-reached.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Minimum = "0" },
            });
        }

        if (operation.Path == ChangesEndpoint.Path)
        {
            parameters.Add(new OpenApiParameter
            {
                Name = ChangesEndpoint.LastEventIdHeader,
                In = ParameterLocation.Header,
                Description = "Resume after this event id (a seq); wins over fromSeq. An id past this node's last seq waits up to Cluster:ReadWaitTimeout, else 503 seq-not-reached naming Last-Event-ID.",
                // An id below 0 is a 400 naming the header, as fromSeq below 1 is.
                Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Minimum = "0" },
            });
        }

        return parameters;
    }

    private static string OperationId(ApiOperation operation)
    {
        var words = operation.Path.Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Select(w => w.Trim('{', '}'))
            .Select(w => char.ToUpperInvariant(w[0]) + w[1..]);
        return operation.Method.ToLowerInvariant() + string.Concat(words);
    }

    private static string ProblemTable() =>
        "| status | type | when |\n|---|---|---|\n" + string.Join("\n", ProblemCatalog.All.Select(p => $"| {p.Status} | `{p.Slug}` | {p.When} |"));
}

/// <summary>Schemas of answers written by hand (health, SQL, the event stream), and of the JSON types with a custom converter.</summary>
internal static class HandSchemas
{
    /// <summary>The <c>QueryRequest</c> example: positions by symbol from the current state.</summary>
    public const string QueryExample = "SELECT symbol, sum(quantity) AS quantity FROM current_trade_state GROUP BY symbol ORDER BY symbol";

    public static IEnumerable<(string Name, OpenApiSchema Schema)> All()
    {
        var dependency = Object(("status", Enum("healthy", "degraded", "unhealthy", "disabled")),
            ("description", String("What the check found (paths, addresses, the cause); only for an authenticated caller")), ("durationMs", Number()));
        yield return ("Live", Object(("status", Enum("healthy"))));
        yield return ("Health", Object(
            ("status", Enum("healthy", "degraded", "unhealthy")),
            ("durationMs", Number()),
            ("dependencies", Object(("duckdb", dependency), ("redis", dependency), ("clickhouse", dependency), ("cluster", dependency)))));
        var query = Object(("sql", String("Exactly one SELECT (or WITH … SELECT); read current_trade_state, trade_events.")));
        query.Required = new HashSet<string> { "sql" };
        query.AdditionalPropertiesAllowed = false;
        query.Examples = [new JsonObject { ["sql"] = QueryExample }];
        yield return ("QueryRequest", query);
        var column = Object(("name", String()), ("type", String("DuckDB type")));
        column.Required = new HashSet<string> { "name", "type" };
        var result = Object(
            ("columns", new OpenApiSchema { Type = JsonSchemaType.Array, Items = column }),
            ("rows", new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema() } }),
            ("rowCount", new OpenApiSchema { Type = JsonSchemaType.Integer }),
            ("truncated", new OpenApiSchema { Type = JsonSchemaType.Boolean }),
            ("truncatedBy", Enum("rows", "bytes")));
        // What JsonQueryResultWriter always writes; truncatedBy only when truncated is true.
        result.Required = new HashSet<string> { "columns", "rows", "rowCount", "truncated" };
        result.Properties!["truncatedBy"].Description = "Present only when truncated: the limit that cut the rows, Security:Query:MaxRows (`rows`) or MaxResultBytes (`bytes`).";
        yield return ("QueryResult", result);
        yield return ("ChangeStream", String(
            "text/event-stream. Each event: `id: <seq>`, `event: create|amend|fill|cancel|delete`, `data: <TradeEvent JSON>`; comments `: heartbeat`; " +
            "a final `event: error` with a ChangeStreamEnd when the server closes the stream."));
        yield return ("Text", String("Prometheus text exposition format 0.0.4."));
        foreach (var schema in ClusterSchemas())
        {
            yield return schema;
        }
    }

    /// <summary>The cluster's answers and the replication protocol's bodies (a cluster node's document only refers to them).</summary>
    private static IEnumerable<(string Name, OpenApiSchema Schema)> ClusterSchemas()
    {
        var truncated = Object(("from", Integer()), ("to", Integer()));
        truncated.Description = "The tail (seqs from..to) the node cut from its journal log at its last start, when it rejoined with records the leader never had.";
        var node = Object(
            ("name", String("Cluster:Node")),
            ("url", String("Cluster:AdvertiseUrl")),
            ("role", Enum(ClusterNodeStatus.LeaderRole, ClusterNodeStatus.FollowerRole, ClusterNodeStatus.CandidateRole, ClusterNodeStatus.StoppedRole, ClusterNodeStatus.UnreachableRole)),
            ("appliedSeq", Integer()),
            ("lagSeq", Nullable(Integer(), "Events behind the leader; null when no leader is known, and for a stopped or unreachable member.")),
            ("truncatedSeq", Nullable(truncated)),
            ("lastSeen", Nullable(new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" }, "For a stopped or unreachable member: when it last wrote its record.")));
        node.Required = new HashSet<string> { "name", "url", "role", "appliedSeq", "lagSeq", "truncatedSeq", "lastSeen" };
        var status = Object(
            ("leader", Nullable(String(), "The leader's Cluster:Node; null while none is known.")),
            ("term", Integer()),
            ("nodes", new OpenApiSchema { Type = JsonSchemaType.Array, Items = node }));
        status.Required = new HashSet<string> { "leader", "term", "nodes" };
        yield return ("ClusterStatus", status);
        var stream = Object(
            ("node", String("The follower's Cluster:Node")),
            ("term", Integer()),
            ("fromSeq", Integer()),
            ("prevSeq", Integer()),
            ("prevTerm", Integer()),
            ("incarnation", Nullable(String(), "The identity of the follower's data directory.")));
        stream.Required = new HashSet<string> { "node", "term", "fromSeq", "prevSeq", "prevTerm" };
        yield return ("ReplicationStreamRequest", stream);
        yield return ("ReplicationStream", new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = "Journal records framed as in the log files, and heartbeats while idle." });
        yield return ("ReplicationAcks", new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = "8-byte little-endian seqs, one per acknowledgement." });
    }

    private static OpenApiSchema Object(params (string Name, IOpenApiSchema Schema)[] properties) => new()
    {
        Type = JsonSchemaType.Object,
        Properties = properties.ToDictionary(p => p.Name, p => p.Schema),
    };

    private static OpenApiSchema String(string? description = null) => new() { Type = JsonSchemaType.String, Description = description };

    private static OpenApiSchema Number() => new() { Type = JsonSchemaType.Number };

    private static OpenApiSchema Integer() => new() { Type = JsonSchemaType.Integer, Format = "int64" };

    private static OpenApiSchema Nullable(OpenApiSchema schema, string? description = null)
    {
        schema.Type |= JsonSchemaType.Null;
        schema.Description = description ?? schema.Description;
        return schema;
    }

    private static OpenApiSchema Enum(params string[] values) => new()
    {
        Type = JsonSchemaType.String,
        Enum = values.Select(v => (JsonNode)JsonValue.Create(v)).ToList(),
    };
}
