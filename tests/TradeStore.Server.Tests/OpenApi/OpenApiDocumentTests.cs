using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using TradeStore.TestSupport;
using TradeStore.Tests;

namespace TradeStore.Server.Tests.OpenApi;

/// <summary>The OpenAPI document at <c>/openapi/v1.json</c> against the routes the host really maps, and the reference page.</summary>
public sealed class OpenApiDocumentTests : IAsyncLifetime
{
    private readonly TempDirectory _data = new("openapi");
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        _app = await TestHostFactory.StartAsync(_data.Path);
        _http = _app.GetTestClient();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        _data.Dispose();
    }

    [Fact]
    public async Task OpenApiDocument_MappedRoutes_EveryRouteDocumentedAndEveryDocumentedRouteMapped()
    {
        var mapped = OpenApiRoutes.Mapped(_app);
        var documented = OpenApiRoutes.Documented(await DocumentAsync());

        Assert.Contains("GET /v1/changes", mapped);
        Assert.Contains("POST /v1/query", mapped);
        Assert.DoesNotContain("GET /v1/cluster", documented); // a standalone node does not map it
        Assert.Empty(mapped.Except(documented)); // mapped but not documented
        Assert.Empty(documented.Except(mapped)); // documented but not mapped
    }

    [Fact]
    public async Task OpenApiDocument_Tags_EveryTagUsedByAnOperationAndEveryOperationTagListed()
    {
        var document = await DocumentAsync();

        var listed = document.GetProperty("tags").EnumerateArray().Select(tag => tag.GetProperty("name").GetString()!).ToList();
        var used = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject())
            .SelectMany(operation => operation.Value.GetProperty("tags").EnumerateArray().Select(tag => tag.GetString()!))
            .ToHashSet();

        Assert.Contains("Trades", listed);
        Assert.DoesNotContain("QueryEndpoint", listed); // the framework's class-name tags
        Assert.Empty(listed.Except(used)); // listed but no operation in it: an empty group on /docs/api
        Assert.Empty(used.Except(listed)); // used but not listed
        Assert.Equal(listed.Count, listed.Distinct().Count());
    }

    [Fact]
    public async Task OpenApiDocument_Served_IsOpenApi31WithBearerProblemsAndDecimalRule()
    {
        var document = await DocumentAsync();

        Assert.StartsWith("3.1", document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var bearer = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal(("http", "bearer"), (bearer.GetProperty("type").GetString(), bearer.GetProperty("scheme").GetString()));

        var create = document.GetProperty("paths").GetProperty("/v1/trades").GetProperty("post");
        Assert.Equal("#/components/schemas/CreateTradeRequest", create.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        Assert.Equal("#/components/schemas/TradeResponse", create.GetProperty("responses").GetProperty("201").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        foreach (var (status, slug) in new[] { ("400", "unknown-property"), ("409", "already-exists"), ("413", "payload-too-large"), ("415", "unsupported-media-type"), ("503", "busy") })
        {
            var response = create.GetProperty("responses").GetProperty(status);
            Assert.Contains($"`{slug}`", response.GetProperty("description").GetString(), StringComparison.Ordinal);
            Assert.True(response.GetProperty("content").TryGetProperty("application/problem+json", out _), status);
        }

        Assert.Equal("Bearer", create.GetProperty("security")[0].EnumerateObject().Single().Name);
        var quantity = document.GetProperty("components").GetProperty("schemas").GetProperty("CreateTradeRequest").GetProperty("properties").GetProperty("quantity");
        var types = quantity.GetProperty("type").EnumerateArray().Select(t => t.GetString()).ToList();
        Assert.Contains("number", types);
        Assert.Contains("string", types);

        var changes = document.GetProperty("paths").GetProperty("/v1/changes").GetProperty("get");
        Assert.True(changes.GetProperty("responses").GetProperty("200").GetProperty("content").TryGetProperty("text/event-stream", out _));
        Assert.Contains(changes.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "Last-Event-ID");
        Assert.Empty(document.GetProperty("paths").GetProperty("/health/live").GetProperty("get").GetProperty("security").EnumerateArray());
    }

    [Fact]
    public async Task OpenApiDocument_DecimalPattern_MatchesEveryStringTheServerAcceptsAndNotTheOnesItRefusesForSyntax()
    {
        var document = await DocumentAsync();
        var quantity = document.GetProperty("components").GetProperty("schemas").GetProperty("CreateTradeRequest").GetProperty("properties").GetProperty("quantity");
        var pattern = new System.Text.RegularExpressions.Regex(quantity.GetProperty("pattern").GetString()!);

        // Accepted by the server (value within DECIMAL(18,8)), so a client validating with the document must accept them.
        foreach (var (text, n) in new[] { ("100.25", 0), ("1e2", 1), ("1000e-3", 2), ("1.000000000", 3), ("0.00000001", 4) })
        {
            Assert.True(pattern.IsMatch(text), text);
            using var created = await _http.PostAsync("/v1/trades", new StringContent(
                $$"""{"tradeId":"DP-{{n}}","account":"A","symbol":"S","side":"buy","quantity":"{{text}}","price":1}""", System.Text.Encoding.UTF8, "application/json"),
                TestContext.Current.CancellationToken);
            Assert.True(created.StatusCode == System.Net.HttpStatusCode.Created, $"{text}: {(int)created.StatusCode}");
        }

        foreach (var text in new[] { "01", "1.", ".5", "+1", "1e", "abc", "1,5" })
        {
            Assert.False(pattern.IsMatch(text), text);
        }
    }

    [Fact]
    public async Task OpenApiDocument_ChangesTooManySubscribers_DeclaresRetryAfter()
    {
        var document = await DocumentAsync();

        var refused = Resolve(document, document.GetProperty("paths").GetProperty("/v1/changes").GetProperty("get").GetProperty("responses").GetProperty("503"));

        Assert.Contains("`too-many-subscribers`", refused.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.True(refused.GetProperty("headers").TryGetProperty("Retry-After", out _), refused.GetRawText());
    }

    [Fact]
    public async Task OpenApiDocument_Commands_ListIdempotencyKeyReusedAndReadsListMinSeq()
    {
        var paths = (await DocumentAsync()).GetProperty("paths");

        foreach (var (path, method) in new[] { ("/v1/trades", "post"), ("/v1/trades/{tradeId}/fill", "post"), ("/v1/trades/{tradeId}", "delete"), ("/v1/trades/batch", "post") })
        {
            var responses = paths.GetProperty(path).GetProperty(method).GetProperty("responses");
            Assert.Contains("`idempotency-key-reused`", responses.GetProperty("422").GetProperty("description").GetString(), StringComparison.Ordinal);
            Assert.Contains("`no-leader`", responses.GetProperty("503").GetProperty("description").GetString(), StringComparison.Ordinal);
        }

        foreach (var path in new[] { "/v1/trades", "/v1/trades/{tradeId}", "/v1/positions" })
        {
            Assert.Contains(paths.GetProperty(path).GetProperty("get").GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "minSeq");
        }
    }

    /// <summary>
    /// A write takes <c>?minSeq=</c> (a malformed one is a 400, one past this node's journal a 503 seq-not-reached) and
    /// the document declared neither the parameter nor the type on any write; it listed instead problems the command never
    /// answers: 404 not-found, version-conflict and invalid-transition on a create, already-exists on an amend, fill,
    /// cancel or delete.
    /// </summary>
    [Fact]
    public async Task OpenApiDocument_Writes_DeclareMinSeqAndOnlyTheProblemsTheCommandAnswers()
    {
        var document = await DocumentAsync();
        var paths = document.GetProperty("paths");
        string Described(string path, string method, string status) =>
            paths.GetProperty(path).GetProperty(method).GetProperty("responses").TryGetProperty(status, out var response)
                ? Resolve(document, response).GetProperty("description").GetString()!
                : "";

        foreach (var (path, method) in new[] { ("/v1/trades", "post"), ("/v1/trades/{tradeId}/amend", "post"), ("/v1/trades/{tradeId}", "delete"), ("/v1/trades/batch", "post") })
        {
            Assert.Contains(paths.GetProperty(path).GetProperty(method).GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "minSeq");
            Assert.Contains("`seq-not-reached`", Described(path, method, "503"), StringComparison.Ordinal);
        }

        Assert.Equal("", Described("/v1/trades", "post", "404"));
        Assert.DoesNotContain("`version-conflict`", Described("/v1/trades", "post", "409"), StringComparison.Ordinal);
        Assert.DoesNotContain("`invalid-transition`", Described("/v1/trades", "post", "409"), StringComparison.Ordinal);
        foreach (var (path, method) in new[] { ("/v1/trades/{tradeId}/amend", "post"), ("/v1/trades/{tradeId}/fill", "post"), ("/v1/trades/{tradeId}/cancel", "post"), ("/v1/trades/{tradeId}", "delete") })
        {
            Assert.DoesNotContain("`already-exists`", Described(path, method, "409"), StringComparison.Ordinal);
        }

        using var refused = await _http.PostAsync(new Uri("/v1/trades?minSeq=999999999", UriKind.Relative),
            new StringContent("""{"tradeId":"MS-1","account":"ACC-1","symbol":"AAPL","side":"buy","quantity":"1","price":"1"}""", System.Text.Encoding.UTF8, "application/json"),
            TestContext.Current.CancellationToken);
        Assert.Equal(503, (int)refused.StatusCode);
        Assert.Contains("seq-not-reached", await refused.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    /// <summary>
    /// Schema descriptions come from the types' XML summaries; a <c>see cref</c> in one is rendered as the member's C#
    /// signature (<c>long? AmendTradeRequest.ExpectedVersion</c>), which names no JSON property a client sends.
    /// </summary>
    [Fact]
    public async Task OpenApiDocument_Descriptions_NameJsonPropertiesNotCSharpMembers()
    {
        var document = await DocumentAsync();
        var csharp = new System.Text.RegularExpressions.Regex(@"\b(string|long|int|bool|decimal)\? |\b[A-Z][a-z]+[A-Z]\w*\.[A-Z]\w+");

        var leaks = Descriptions(document).Where(d => csharp.IsMatch(d.Text)).Select(d => $"{d.Path}: {d.Text}").ToList();

        Assert.Empty(leaks);
        var amend = document.GetProperty("components").GetProperty("schemas").GetProperty("AmendTradeRequest");
        Assert.Contains("`expectedVersion`", amend.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains("cannot be cleared", amend.GetProperty("properties").GetProperty("venue").GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// The pattern of a time admits every text <see cref="TradeStore.Server.Api.IsoTime"/> accepts (in a body or a query), so a client
    /// validating against the document never refuses a time the server takes: 200,000 mutations of valid times.
    /// </summary>
    [Fact]
    public async Task OpenApiDocument_TimePattern_AdmitsEveryTimeTheServerAccepts()
    {
        var property = (await DocumentAsync()).GetProperty("components").GetProperty("schemas").GetProperty("CreateTradeRequest").GetProperty("properties").GetProperty("executedAt");
        var pattern = new System.Text.RegularExpressions.Regex(property.GetProperty("pattern").GetString()!);
        string[] seeds = ["2026-12-04T00:00:00Z", "2026-12-04T23:59:59.1234567+14:00", "2026-12-04T00:00-05:30", "2026-12-04T00:00:00.5-01", "0001-01-01T00:00:00Z"];
        const string Alphabet = "0123456789-+:.TZtz ,";
        var random = new Random(20261204);
        var (accepted, refused) = (0, 0);
        for (var i = 0; i < 200_000; i++)
        {
            var text = new System.Text.StringBuilder(seeds[random.Next(seeds.Length)]);
            for (var edits = random.Next(1, 4); edits > 0 && text.Length > 0; edits--)
            {
                var at = random.Next(text.Length);
                _ = random.Next(3) switch
                {
                    0 => text.Remove(at, 1),
                    1 => text.Insert(at, Alphabet[random.Next(Alphabet.Length)]),
                    _ => text.Replace(text[at], Alphabet[random.Next(Alphabet.Length)], at, 1),
                };
            }

            var candidate = text.ToString();
            if (TradeStore.Server.Api.IsoTime.TryParse(candidate, out _, out _))
            {
                accepted++;
                Assert.True(pattern.IsMatch(candidate), candidate);
            }
            else
            {
                refused++;
            }
        }

        Assert.True(accepted > 1_000 && refused > 1_000, $"{accepted} accepted, {refused} refused");
    }

    /// <summary>
    /// The request schemas state the field rules a schema can express, and they are the server's: each value a pattern,
    /// enum or length admits is accepted by a create, each it refuses is a 400 naming the field.
    /// </summary>
    [Theory]
    [InlineData("tradeId", "T-1.a:b_c", true)]
    [InlineData("tradeId", "a b", false)]
    [InlineData("tradeId", "a/b", false)]
    [InlineData("tradeId", "é", false)]
    [InlineData("tradeId", "", false)]
    [InlineData("tradeId", "65", false)]
    [InlineData("account", "ACC/1", true)]
    [InlineData("account", "ACC 1", false)]
    [InlineData("symbol", "32", true)]
    [InlineData("symbol", "33", false)]
    [InlineData("side", "sell", true)]
    [InlineData("side", "BUY", false)]
    [InlineData("venue", "64", true)]
    [InlineData("venue", "65", false)]
    [InlineData("venue", "", false)]
    [InlineData("executedAt", "2026-12-04T00:00:00.123456789Z", true)]
    [InlineData("executedAt", "2026-12-04T00:00+01", true)]
    [InlineData("executedAt", "2026-12-04t00:00:00z", false)]
    [InlineData("executedAt", "2026-12-04T00:00:00+0100", false)]
    [InlineData("executedAt", "2026-12-04T00:00:00.Z", false)]
    [InlineData("executedAt", "2026-12-04 00:00:00Z", false)]
    [InlineData("executedAt", "2026-12-04", false)]
    public async Task OpenApiDocument_CreateFieldRules_AdmitExactlyWhatTheServerAccepts(string field, string value, bool accepted)
    {
        value = int.TryParse(value, out var length) ? new string('x', length) : value;
        var property = (await DocumentAsync()).GetProperty("components").GetProperty("schemas").GetProperty("CreateTradeRequest").GetProperty("properties").GetProperty(field);
        var admitted = (!property.TryGetProperty("pattern", out var pattern) || System.Text.RegularExpressions.Regex.IsMatch(value, pattern.GetString()!))
            && (!property.TryGetProperty("enum", out var values) || values.EnumerateArray().Any(v => v.GetString() == value))
            && (!property.TryGetProperty("minLength", out var min) || value.Length >= min.GetInt32())
            && (!property.TryGetProperty("maxLength", out var max) || value.Length <= max.GetInt32());
        var body = new Dictionary<string, string> { ["tradeId"] = "R-1", ["account"] = "ACC-1", ["symbol"] = "AAPL", ["side"] = "buy", ["quantity"] = "1", ["price"] = "1", [field] = value };

        using var response = await _http.PostAsync("/v1/trades", new StringContent(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;

        Assert.Equal(accepted, admitted);
        Assert.Equal(accepted ? 201 : 400, (int)response.StatusCode);
        if (!accepted)
        {
            Assert.Equal(field, answer.GetProperty("field").GetString());
        }
    }

    [Fact]
    public async Task OpenApiDocument_VersionsAndBatchTypes_StateTheirRules()
    {
        var schemas = (await DocumentAsync()).GetProperty("components").GetProperty("schemas");

        Assert.Equal(1, schemas.GetProperty("AmendTradeRequest").GetProperty("properties").GetProperty("expectedVersion").GetProperty("minimum").GetInt32());
        Assert.Equal(1, schemas.GetProperty("FillTradeRequest").GetProperty("properties").GetProperty("expectedVersion").GetProperty("minimum").GetInt32());
        var item = schemas.GetProperty("BatchItemRequest").GetProperty("properties");
        Assert.Equal(["create", "amend", "fill", "cancel", "delete"], item.GetProperty("type").GetProperty("enum").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(128, item.GetProperty("idempotencyKey").GetProperty("maxLength").GetInt32());
        Assert.False(item.GetProperty("side").TryGetProperty("enum", out _)); // null is a batch amend's side, which an enum would refuse
    }

    /// <summary>
    /// An answer's codes are enumerated and its counts are integers. Regression: a trade's <c>side</c> and <c>status</c> and
    /// an event's <c>type</c> were any string, and a problem's <c>status</c> and a batch's counts "integer or string", so a
    /// generated client could not switch on them. Every code a whole lifecycle answers with is among the enumerated ones.
    /// </summary>
    [Fact]
    public async Task OpenApiDocument_AnswerCodesAndCounts_EnumeratedAndIntegersAndTheServersAnswersWithin()
    {
        var schemas = (await DocumentAsync()).GetProperty("components").GetProperty("schemas");
        var trade = schemas.GetProperty("TradeResponse").GetProperty("properties");
        var eventType = Enumerated(schemas.GetProperty("TradeEvent").GetProperty("properties").GetProperty("type"));

        Assert.Equal(["buy", "sell"], Enumerated(trade.GetProperty("side")));
        Assert.Equal(["new", "partially_filled", "filled", "cancelled", "deleted"], Enumerated(trade.GetProperty("status")));
        Assert.Equal(["create", "amend", "fill", "cancel", "delete"], eventType);
        foreach (var (schema, property) in new[] { ("ApiProblem", "status"), ("BatchResponse", "succeeded"), ("BatchResponse", "failed") })
        {
            var type = schemas.GetProperty(schema).GetProperty("properties").GetProperty(property).GetProperty("type");
            Assert.True(type.ValueKind == JsonValueKind.String && type.GetString() == "integer", $"{schema}.{property}: {type}");
        }

        var ct = TestContext.Current.CancellationToken;
        foreach (var (method, path, body) in new[]
                 {
                     ("POST", "/v1/trades", """{"tradeId":"E-1","account":"ACC-1","symbol":"AAPL","side":"sell","quantity":"10","price":"1"}"""),
                     ("POST", "/v1/trades/E-1/amend", """{"expectedVersion":1,"price":"2"}"""),
                     ("POST", "/v1/trades/E-1/fill", """{"quantity":"4","price":"2"}"""),
                     ("POST", "/v1/trades/E-1/cancel", "{}"),
                     ("DELETE", "/v1/trades/E-1", null),
                 })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = body is null ? null : new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
            using var response = await _http.SendAsync(request, ct);
            Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
        }

        var history = JsonDocument.Parse(await _http.GetStringAsync("/v1/trades/E-1/history", ct)).RootElement.GetProperty("items");
        Assert.Equal(eventType, history.EnumerateArray().Select(e => e.GetProperty("type").GetString()!).ToList());
        Assert.All(history.EnumerateArray(), e => Assert.Contains(e.GetProperty("trade").GetProperty("status").GetString(), Enumerated(trade.GetProperty("status"))));
        Assert.All(history.EnumerateArray(), e => Assert.Contains(e.GetProperty("trade").GetProperty("side").GetString(), Enumerated(trade.GetProperty("side"))));

        static List<string> Enumerated(JsonElement property) => [.. property.GetProperty("enum").EnumerateArray().Select(v => v.GetString()!)];
    }

    /// <summary>
    /// The list's <c>status</c> and <c>limit</c>, the delete's <c>expectedVersion</c> and the feed's <c>fromSeq</c> stated
    /// their rules only in words: a generated client sent <c>status=deleted</c> or <c>limit=0</c> and met them in the 400.
    /// </summary>
    [Fact]
    public async Task OpenApiDocument_QueryParameters_StateTheirValuesAndMinimums()
    {
        var paths = (await DocumentAsync()).GetProperty("paths");

        var list = Parameters(paths, "/v1/trades", "get");
        Assert.Equal(["new", "partially_filled", "filled", "cancelled"], list["status"].GetProperty("enum").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(1, list["limit"].GetProperty("minimum").GetInt32());
        var history = Parameters(paths, "/v1/trades/{tradeId}/history", "get");
        Assert.Equal(1, history["limit"].GetProperty("minimum").GetInt32());
        Assert.True(history.ContainsKey("cursor"));
        var positions = Parameters(paths, "/v1/positions", "get");
        Assert.Equal(1, positions["limit"].GetProperty("minimum").GetInt32());
        Assert.True(positions.ContainsKey("cursor"));
        Assert.Equal(1, Parameters(paths, "/v1/trades/{tradeId}", "delete")["expectedVersion"].GetProperty("minimum").GetInt32());
        Assert.Equal(1, Parameters(paths, "/v1/changes", "get")["fromSeq"].GetProperty("minimum").GetInt32());
        // The server refuses Last-Event-ID: -1 with a 400 naming it; the schema said nothing of a bound.
        Assert.Equal(0, Parameters(paths, "/v1/changes", "get", "header")["Last-Event-ID"].GetProperty("minimum").GetInt32());
    }

    /// <summary>The schema of each parameter of one operation in <paramref name="location"/> (query, header), by name.</summary>
    private static Dictionary<string, JsonElement> Parameters(JsonElement paths, string path, string method, string location = "query") =>
        paths.GetProperty(path).GetProperty(method).GetProperty("parameters").EnumerateArray()
            .Where(p => p.GetProperty("in").GetString() == location)
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("schema"));

    private static IEnumerable<(string Path, string Text)> Descriptions(JsonElement element, string path = "")
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (property is { Name: "description", Value.ValueKind: JsonValueKind.String })
                {
                    yield return (path, property.Value.GetString()!);
                }

                foreach (var inner in Descriptions(property.Value, $"{path}/{property.Name}"))
                {
                    yield return inner;
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var inner in element.EnumerateArray().SelectMany((item, i) => Descriptions(item, $"{path}[{i}]")))
            {
                yield return inner;
            }
        }
    }

    /// <summary>The document's <c>required</c> lists are the server's: a body without any one of them is refused by name.</summary>
    [Fact]
    public async Task OpenApiDocument_RequiredProperties_ServerRefusesABodyWithoutEachByName()
    {
        var schemas = (await DocumentAsync()).GetProperty("components").GetProperty("schemas");
        Assert.Equal(201, await PostAsync("/v1/trades", """{"tradeId":"REQ-0","account":"A","symbol":"S","side":"buy","quantity":"10","price":"1"}"""));
        var requests = new[]
        {
            ("CreateTradeRequest", "/v1/trades", """{"tradeId":"REQ-1","account":"A","symbol":"S","side":"buy","quantity":"1","price":"1"}"""),
            ("AmendTradeRequest", "/v1/trades/REQ-0/amend", """{"expectedVersion":1,"price":"2"}"""),
            ("FillTradeRequest", "/v1/trades/REQ-0/fill", """{"quantity":"1","price":"1"}"""),
        };
        var checkedFields = 0;
        foreach (var (schemaName, path, valid) in requests)
        {
            var schema = schemas.GetProperty(schemaName);
            Assert.False(schema.GetProperty("additionalProperties").GetBoolean(), schemaName);
            foreach (var required in schema.GetProperty("required").EnumerateArray().Select(r => r.GetString()!))
            {
                var body = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(valid)!;
                Assert.True(body.Remove(required), $"{schemaName}.{required} is not in the valid body");
                using var answer = await _http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json"),
                    TestContext.Current.CancellationToken);
                var problem = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
                Assert.True(answer.StatusCode == System.Net.HttpStatusCode.BadRequest, $"{schemaName} without {required}: {(int)answer.StatusCode}");
                Assert.Equal(required, problem.GetProperty("field").GetString());

                // Null is refused like absence, so the document does not offer it.
                body[required] = JsonDocument.Parse("null").RootElement;
                using var withNull = await _http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json"),
                    TestContext.Current.CancellationToken);
                Assert.True(withNull.StatusCode == System.Net.HttpStatusCode.BadRequest, $"{schemaName} with {required}: null: {(int)withNull.StatusCode}");
                var type = schema.GetProperty("properties").GetProperty(required).GetProperty("type");
                var types = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()).ToList() : [type.GetString()];
                Assert.True(!types.Contains("null"), $"{schemaName}.{required} is required but typed {type}");
                checkedFields++;
            }
        }

        Assert.Equal(6 + 1 + 2, checkedFields);
        var version = schemas.GetProperty("FillTradeRequest").GetProperty("properties").GetProperty("expectedVersion").GetProperty("type");
        Assert.DoesNotContain("string", version.EnumerateArray().Select(t => t.GetString()));
    }

    /// <summary>
    /// Each request schema shows an example, and the examples are real requests: sent in order (create, amend, fill,
    /// cancel, a batch item, a query) the server takes every one.
    /// </summary>
    [Fact]
    public async Task OpenApiDocument_RequestExamples_AcceptedByTheServerInOrder()
    {
        var schemas = (await DocumentAsync()).GetProperty("components").GetProperty("schemas");
        string Example(string schema) => schemas.GetProperty(schema).GetProperty("examples")[0].GetRawText();
        var create = JsonDocument.Parse(Example("CreateTradeRequest")).RootElement;
        var tradeId = create.GetProperty("tradeId").GetString();
        var batchItem = JsonDocument.Parse(Example("BatchItemRequest")).RootElement;
        Assert.Equal(201, await PostAsync("/v1/trades", ApiClient.CreateBody(batchItem.GetProperty("tradeId").GetString()!)));

        Assert.Equal(201, await PostAsync("/v1/trades", Example("CreateTradeRequest")));
        Assert.Equal(200, await PostAsync($"/v1/trades/{tradeId}/amend", Example("AmendTradeRequest")));
        Assert.Equal(200, await PostAsync($"/v1/trades/{tradeId}/fill", Example("FillTradeRequest")));
        Assert.Equal(200, await PostAsync($"/v1/trades/{tradeId}/cancel", Example("CancelTradeRequest")));
        using var batch = await _http.PostAsync(new Uri("/v1/trades/batch", UriKind.Relative),
            new StringContent($"[{Example("BatchItemRequest")}]", System.Text.Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        var batchAnswer = JsonDocument.Parse(await batch.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        Assert.Equal(1, batchAnswer.GetProperty("succeeded").GetInt32());
        Assert.Equal(200, await PostAsync("/v1/query", Example("QueryRequest")));
    }

    /// <summary>Every property the document marks required is in real batch answers (a created item, a refused one, a replay).</summary>
    [Fact]
    public async Task OpenApiDocument_BatchAnswers_HoldEveryRequiredPropertyAndNoUndeclaredOne()
    {
        var schemas = (await DocumentAsync()).GetProperty("components").GetProperty("schemas");
        var item = schemas.GetProperty("BatchResponse").GetProperty("properties").GetProperty("results").GetProperty("items");
        const string batch = """[{"type":"create","idempotencyKey":"BR-k","tradeId":"BR-1","account":"A","symbol":"S","side":"buy","quantity":"1","price":"1"},{"type":"fill","tradeId":"BR-none","quantity":"1","price":"1"}]""";

        var checkedItems = 0;
        foreach (var _ in new[] { "first", "replay" })
        {
            using var answer = await _http.PostAsync(new Uri("/v1/trades/batch", UriKind.Relative), new StringContent(batch, System.Text.Encoding.UTF8, "application/json"),
                TestContext.Current.CancellationToken);
            Assert.Equal(System.Net.HttpStatusCode.OK, answer.StatusCode);
            var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
            foreach (var result in body.GetProperty("results").EnumerateArray())
            {
                AssertMatchesProperties(item, result, $"batch result {result}");
                checkedItems++;
            }
        }

        Assert.Equal(4, checkedItems);
        Assert.Equal(["index", "status"], item.GetProperty("required").EnumerateArray().Select(r => r.GetString()!).Order());
    }

    /// <summary>POST /v1/query's 200 lists every format the server answers by Accept, and QueryResult is true to real JSON answers, truncated ones too.</summary>
    [Fact]
    public async Task OpenApiDocument_Query_ListsEveryServedFormatAndQueryResultMatchesRealAnswers()
    {
        var document = await DocumentAsync();
        var ok = document.GetProperty("paths").GetProperty("/v1/query").GetProperty("post").GetProperty("responses").GetProperty("200").GetProperty("content");
        var listed = ok.EnumerateObject().Select(c => c.Name).ToHashSet();
        foreach (var accept in new[] { "application/json", "text/csv", "application/vnd.apache.arrow.stream", "application/vnd.apache.parquet" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/query", UriKind.Relative))
            {
                Content = new StringContent("""{"sql":"SELECT 1 AS one"}""", System.Text.Encoding.UTF8, "application/json"),
            };
            request.Headers.Accept.ParseAdd(accept);
            using var answer = await _http.SendAsync(request, TestContext.Current.CancellationToken);
            Assert.Equal(System.Net.HttpStatusCode.OK, answer.StatusCode);
            Assert.Contains(answer.Content.Headers.ContentType!.MediaType!, listed);
        }

        var result = document.GetProperty("components").GetProperty("schemas").GetProperty("QueryResult");
        foreach (var sql in new[] { "SELECT 1 AS one, NULL AS n", "SELECT * FROM range(20000)" }) // the second is cut at Security:Query:MaxRows
        {
            using var answer = await _http.PostAsync(new Uri("/v1/query", UriKind.Relative), new StringContent(JsonSerializer.Serialize(new { sql }), System.Text.Encoding.UTF8, "application/json"),
                TestContext.Current.CancellationToken);
            var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
            AssertMatchesProperties(result, body, sql);
        }

        Assert.Contains("truncated", result.GetProperty("required").EnumerateArray().Select(r => r.GetString()));
    }

    /// <summary>
    /// Each response header the server sends (of those the document describes) is declared on the response it came with:
    /// real requests, compared with the document. 405 is declared once, as a component response.
    /// </summary>
    [Fact]
    public async Task OpenApiDocument_ResponseHeaders_EveryHeaderARealAnswerCarriesIsDeclaredOnItsResponse()
    {
        string[] described = ["Location", "TradeStore-Seq", "TradeStore-Applied-Seq", "Retry-After", "Idempotent-Replayed", "X-Truncated", "Allow", "TradeStore-Term"];
        var document = await DocumentAsync();
        var paths = document.GetProperty("paths");
        const string trade = """{"tradeId":"RH-1","account":"A","symbol":"S","side":"buy","quantity":"10","price":"1"}""";
        var requests = new (string Method, string Path, string Template, string? Body, string? Accept, (string Name, string Value)? Header)[]
        {
            ("POST", "/v1/trades", "/v1/trades", trade, null, ("Idempotency-Key", "rh-1")),
            ("POST", "/v1/trades", "/v1/trades", trade, null, ("Idempotency-Key", "rh-1")), // a replay
            ("POST", "/v1/trades", "/v1/trades", trade, null, null), // already exists
            ("POST", "/v1/trades/RH-1/fill", "/v1/trades/{tradeId}/fill", """{"quantity":"1","price":"1"}""", null, null),
            ("GET", "/v1/trades/RH-1", "/v1/trades/{tradeId}", null, null, null),
            ("GET", "/v1/trades/RH-1?minSeq=999999999", "/v1/trades/{tradeId}", null, null, null), // seq-not-reached, Retry-After
            ("GET", "/v1/trades/RH-none", "/v1/trades/{tradeId}", null, null, null),
            ("POST", "/v1/query", "/v1/query", """{"sql":"SELECT 1"}""", null, null),
            ("POST", "/v1/query", "/v1/query", """{"sql":"SELECT 1"}""", "text/csv", null),
            ("POST", "/v1/query", "/v1/query", """{"sql":"SELECT no_such_column"}""", null, null), // query-rejected after it started
            ("GET", "/health/ready", "/health/ready", null, null, null),
        };

        var seen = new HashSet<string>();
        foreach (var (method, path, template, body, accept, header) in requests)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
            if (body is not null)
            {
                request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
            }

            if (accept is not null)
            {
                request.Headers.Accept.ParseAdd(accept);
            }

            if (header is { } h)
            {
                request.Headers.Add(h.Name, h.Value);
            }

            using var answer = await _http.SendAsync(request, TestContext.Current.CancellationToken);
            var status = ((int)answer.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var response = Resolve(document, paths.GetProperty(template).GetProperty(method.ToLowerInvariant()).GetProperty("responses").GetProperty(status));
            var declared = response.TryGetProperty("headers", out var headers) ? headers.EnumerateObject().Select(p => p.Name).ToHashSet() : [];
            foreach (var name in described.Where(name => answer.Headers.NonValidated.Contains(name) || answer.Content.Headers.NonValidated.Contains(name)))
            {
                Assert.True(declared.Contains(name), $"{method} {path} → {status} carries {name}, not declared on it");
                seen.Add(name);
            }
        }

        using var put = await _http.PutAsync(new Uri("/v1/trades", UriKind.Relative), new StringContent("{}", System.Text.Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.MethodNotAllowed, put.StatusCode);
        Assert.True(put.Content.Headers.NonValidated.Contains("Allow") || put.Headers.NonValidated.Contains("Allow"));
        var methodNotAllowed = document.GetProperty("components").GetProperty("responses").GetProperty("MethodNotAllowed");
        Assert.True(methodNotAllowed.GetProperty("headers").TryGetProperty("Allow", out _));

        // Every header the standalone host sends was met (TradeStore-Term needs a cluster: see the 307 test).
        Assert.Equal(["Idempotent-Replayed", "Location", "Retry-After", "TradeStore-Applied-Seq", "TradeStore-Seq", "X-Truncated"], seen.Order());
    }

    /// <summary>
    /// A server with keys answers a request without one 401 with <c>WWW-Authenticate: Bearer</c>; the document declared
    /// no header on any 401, so a generated client could not read the challenge.
    /// </summary>
    [Fact]
    public async Task OpenApiDocument_Unauthorized_DeclaresTheWwwAuthenticateARealRefusalCarries()
    {
        var ct = TestContext.Current.CancellationToken;
        using var data = new TempDirectory("openapi-keys");
        var (_, hash) = TradeStore.Core.Security.ApiKeyHash.Generate();
        var app = await TestHostFactory.StartAsync(data.Path, new Dictionary<string, string>
        {
            ["TRADESTORE__SECURITY__APIKEYS__0__NAME"] = "reader",
            ["TRADESTORE__SECURITY__APIKEYS__0__HASH"] = hash,
            ["TRADESTORE__SECURITY__APIKEYS__0__ROLE"] = "reader",
        });
        try
        {
            using var http = app.GetTestClient();
            var document = await DocumentAsync();
            var paths = document.GetProperty("paths");
            foreach (var (path, template) in new[] { ("/v1/changes", "/v1/changes"), ("/v1/trades/T-1", "/v1/trades/{tradeId}"), ("/v1/positions", "/v1/positions") })
            {
                using var answer = await http.GetAsync(new Uri(path, UriKind.Relative), ct);
                Assert.Equal(System.Net.HttpStatusCode.Unauthorized, answer.StatusCode);
                Assert.Equal("Bearer", answer.Headers.WwwAuthenticate.ToString());
                var response = Resolve(document, paths.GetProperty(template).GetProperty("get").GetProperty("responses").GetProperty("401"));
                Assert.True(response.TryGetProperty("headers", out var headers) && headers.TryGetProperty("WWW-Authenticate", out _),
                    $"GET {path} → 401 carries WWW-Authenticate, not declared on it");
            }
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }
    }

    /// <summary>Writes on a cluster node that is not the leader answer 307 to the leader (WriteGate): declared on every write, with its headers.</summary>
    [Fact]
    public async Task OpenApiDocument_Writes_Declare307ToTheLeaderWithLocationAndTerm()
    {
        var document = await DocumentAsync();
        var writes = 0;
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Name is "post" or "delete" && path.Name.StartsWith("/v1/trades", StringComparison.Ordinal)))
            {
                var responses = operation.Value.GetProperty("responses");
                var redirect = responses.GetProperty("307").GetProperty("headers");
                Assert.True(redirect.TryGetProperty("Location", out _), $"{operation.Name} {path.Name}");
                Assert.True(redirect.TryGetProperty("TradeStore-Term", out _), $"{operation.Name} {path.Name}");
                var success = responses.EnumerateObject().Single(r => r.Name.StartsWith('2'));
                Assert.True(success.Value.GetProperty("headers").TryGetProperty("TradeStore-Term", out _), $"{operation.Name} {path.Name}");
                writes++;
            }
        }

        Assert.Equal(6, writes);
        Assert.False(document.GetProperty("paths").GetProperty("/v1/query").GetProperty("post").GetProperty("responses").TryGetProperty("307", out _));
    }

    [Fact]
    public async Task ConsoleAndApiReference_Head_AnswerLikeGetWithoutABody()
    {
        await using var host = await TradeStore.Server.Tests.Changes.KestrelHost.StartAsync();
        using var http = host.Client();
        foreach (var path in new[] { "/console/", "/console/console.js", "/docs/api/" })
        {
            using var get = await http.GetAsync(new Uri(path, UriKind.Relative), TestContext.Current.CancellationToken);
            using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri(path, UriKind.Relative)), TestContext.Current.CancellationToken);
            Assert.Equal(System.Net.HttpStatusCode.OK, get.StatusCode);
            Assert.True(head.StatusCode == System.Net.HttpStatusCode.OK, $"HEAD {path}: {(int)head.StatusCode}");
            Assert.Equal(get.Content.Headers.ContentType?.MediaType, head.Content.Headers.ContentType?.MediaType);
            Assert.Empty(await head.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        }
    }

    [Fact]
    public async Task ApiReference_Requested_ServedUnderAPolicyOfThisOriginWithANonceAndWithoutScalarServices()
    {
        using var answer = await _http.GetAsync(new Uri("/docs/api/", UriKind.Relative), TestContext.Current.CancellationToken);
        var policy = answer.Headers.GetValues("Content-Security-Policy").Single();
        var page = await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        var nonce = System.Text.RegularExpressions.Regex.Match(policy, "script-src 'self' 'nonce-([^']+)'").Groups[1].Value;
        Assert.NotEmpty(nonce);
        Assert.Contains($"nonce=\"{nonce}\"", page, StringComparison.Ordinal);
        Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("http", policy, StringComparison.Ordinal); // no other origin
        Assert.DoesNotContain("fonts.scalar.com", page, StringComparison.Ordinal);

        using var again = await _http.GetAsync(new Uri("/docs/api/", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.NotEqual(policy, again.Headers.GetValues("Content-Security-Policy").Single()); // a fresh nonce per answer
    }

    [Fact]
    public async Task ApiReference_Requested_ServesPageAndScriptFromTheBinary()
    {
        var page = await _http.GetStringAsync(new Uri("/docs/api/", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Contains("openapi/v1.json", page, StringComparison.Ordinal); // resolved by Scalar against the page's path less /docs/api/
        Assert.DoesNotContain("cdn.jsdelivr.net", page, StringComparison.Ordinal);

        using var script = await _http.GetAsync(new Uri("/docs/api/scalar.js", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.OK, script.StatusCode);
        Assert.True((await script.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken)).Length > 100_000);
    }

    /// <summary>Every required property of <paramref name="schema"/> is in <paramref name="value"/>, and each of its properties is declared.</summary>
    private static void AssertMatchesProperties(JsonElement schema, JsonElement value, string what)
    {
        var properties = schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToHashSet();
        var present = value.EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.True(schema.TryGetProperty("required", out var required), $"{what}: the schema lists no required properties");
        foreach (var name in required.EnumerateArray().Select(r => r.GetString()!))
        {
            Assert.True(present.Contains(name), $"{what}: required '{name}' is missing");
        }

        Assert.Empty(present.Except(properties));
    }

    /// <summary>A response, or the component response it refers to.</summary>
    private static JsonElement Resolve(JsonElement document, JsonElement response) =>
        response.TryGetProperty("$ref", out var reference)
            ? document.GetProperty("components").GetProperty("responses").GetProperty(reference.GetString()!.Split('/')[^1])
            : response;

    private async Task<int> PostAsync(string path, string json)
    {
        using var answer = await _http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(json, System.Text.Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        return (int)answer.StatusCode;
    }

    private async Task<JsonElement> DocumentAsync()
    {
        var text = await _http.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative), TestContext.Current.CancellationToken);
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
