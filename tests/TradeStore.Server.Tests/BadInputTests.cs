using System.Net;
using System.Text;

namespace TradeStore.Server.Tests;

/// <summary>Every kind of bad request gets its documented status and a problem naming the field, and changes nothing.</summary>
public sealed class BadInputTests : ApiTestBase
{
    private const string Existing = "EXIST-1";

    protected override Dictionary<string, string> Environment => new()
    {
        ["TRADESTORE__API__MAXREQUESTBODYBYTES"] = "2048",
        ["TRADESTORE__API__MAXPAGESIZE"] = "50",
        ["TRADESTORE__API__DEFAULTPAGESIZE"] = "20",
    };

    public static TheoryData<string, string, string, string?, int, string, string?> Cases => new()
    {
        // name, method+path, content type, body, status, problem type, field
        { "malformed JSON", "POST /v1/trades", "application/json", """{"tradeId":"N-1","quantity": }""", 400, "malformed-json", "quantity" },
        { "truncated JSON", "POST /v1/trades/EXIST-1/amend", "application/json", """{"expectedVersion":1,""", 400, "malformed-json", "body" },
        { "not an object", "POST /v1/trades", "application/json", "[1,2]", 400, "validation", "body" },
        { "empty body", "POST /v1/trades", "application/json", "", 400, "validation", "body" },
        { "unknown property", "POST /v1/trades", "application/json", ApiClient.CreateBody("N-1", extra: ""","colour":"red" """), 400, "unknown-property", "colour" },
        { "mass-assigned version", "POST /v1/trades", "application/json", ApiClient.CreateBody("N-1", extra: ""","version":7"""), 400, "unknown-property", "version" },
        { "mass-assigned status", "POST /v1/trades/EXIST-1/amend", "application/json", """{"expectedVersion":1,"status":"filled"}""", 400, "unknown-property", "status" },
        { "PascalCase property", "POST /v1/trades/EXIST-1/fill", "application/json", """{"Quantity":"1","price":"1"}""", 400, "unknown-property", "Quantity" },
        { "duplicate property", "POST /v1/trades/EXIST-1/fill", "application/json", """{"quantity":"1","quantity":"5","price":"1"}""", 400, "malformed-json", "quantity" },
        { "negative quantity", "POST /v1/trades", "application/json", ApiClient.CreateBody("N-1", quantity: "-5"), 400, "validation", "quantity" },
        { "zero quantity", "POST /v1/trades/EXIST-1/fill", "application/json", """{"quantity":0,"price":"1"}""", 400, "validation", "quantity" },
        { "negative price", "POST /v1/trades/EXIST-1/amend", "application/json", """{"expectedVersion":1,"price":"-0.01"}""", 400, "validation", "price" },
        { "9-decimal quantity as string", "POST /v1/trades", "application/json", ApiClient.CreateBody("N-1", quantity: "\"0.000000001\""), 400, "validation", "quantity" },
        { "9-decimal quantity as number", "POST /v1/trades", "application/json", ApiClient.CreateBody("N-1", quantity: "0.000000001"), 400, "validation", "quantity" },
        { "out-of-range price", "POST /v1/trades", "application/json", ApiClient.CreateBody("N-1", price: "10000000000"), 400, "validation", "price" },
        { "quantity as boolean", "POST /v1/trades", "application/json", ApiClient.CreateBody("N-1", quantity: "true"), 400, "validation", "quantity" },
        { "account as number", "POST /v1/trades", "application/json", """{"tradeId":"N-1","account":5,"symbol":"X","side":"buy","quantity":1,"price":1}""", 400, "malformed-json", "account" },
        { "missing price", "POST /v1/trades", "application/json", """{"tradeId":"N-1","account":"A","symbol":"X","side":"buy","quantity":1}""", 400, "validation", "price" },
        { "bad side", "POST /v1/trades", "application/json", ApiClient.CreateBody("N-1", side: "hold"), 400, "validation", "side" },
        { "zero-width space in venue", "POST /v1/trades", "application/json", ApiClient.CreateBody("N-1", extra: ""","venue":"XNAS\u200B" """), 400, "validation", "venue" },
        { "right-to-left override in trader", "POST /v1/trades", "application/json", ApiClient.CreateBody("N-1", extra: ""","trader":"\u202Eevil" """), 400, "validation", "trader" },
        { "line separator in venue", "POST /v1/trades", "application/json", ApiClient.CreateBody("N-1", extra: ""","venue":"X\u2028Y" """), 400, "validation", "venue" },
        { "bad trade id", "POST /v1/trades", "application/json", ApiClient.CreateBody("N 1"), 400, "validation", "tradeId" },
        { "time past 9999 by its offset", "POST /v1/trades", "application/json", ApiClient.CreateBody("N-1", extra: ""","executedAt":"9999-12-31T23:59:59.9999999-14:00" """), 400, "validation", "executedAt" },
        { "whitespace-only body", "POST /v1/trades/EXIST-1/cancel", "application/json", "  \n ", 400, "malformed-json", "body" },
        { "trailing garbage after the object", "POST /v1/trades", "application/json", ApiClient.CreateBody("N-1") + " x", 400, "malformed-json", "body" },
        { "time without zone", "POST /v1/trades", "application/json", ApiClient.CreateBody("N-1", extra: ""","executedAt":"2026-01-02T03:04:05" """), 400, "validation", "executedAt" },
        { "amend without expectedVersion", "POST /v1/trades/EXIST-1/amend", "application/json", """{"price":"2"}""", 400, "validation", "expectedVersion" },
        { "amend changing nothing", "POST /v1/trades/EXIST-1/amend", "application/json", """{"expectedVersion":1}""", 400, "validation", "body" },
        { "idempotencyKey in a command's body", "POST /v1/trades", "application/json", ApiClient.CreateBody("N-1", extra: ""","idempotencyKey":"k-1" """), 400, "unknown-property", "idempotencyKey" },
        { "overfill", "POST /v1/trades/EXIST-1/fill", "application/json", """{"quantity":"100.00000001","price":"1"}""", 400, "validation", "quantity" },
        { "wrong content type", "POST /v1/trades", "text/plain", ApiClient.CreateBody("N-1"), 415, "unsupported-media-type", "Content-Type" },
        { "form content type", "POST /v1/trades/EXIST-1/cancel", "application/x-www-form-urlencoded", "expectedVersion=1", 415, "unsupported-media-type", "Content-Type" },
        { "oversize body", "POST /v1/trades", "application/json", ApiClient.CreateBody("N-1", extra: $$""","venue":"{{new string('x', 3000)}}" """), 413, "payload-too-large", "body" },
        { "unknown trade amend", "POST /v1/trades/NOPE/amend", "application/json", """{"expectedVersion":1,"price":"2"}""", 404, "not-found", "tradeId" },
        { "unknown trade fill", "POST /v1/trades/NOPE/fill", "application/json", """{"quantity":"1","price":"2"}""", 404, "not-found", "tradeId" },
        { "unknown trade cancel", "POST /v1/trades/NOPE/cancel", "application/json", "{}", 404, "not-found", "tradeId" },
        { "unknown trade delete", "DELETE /v1/trades/NOPE", "application/json", null, 404, "not-found", "tradeId" },
        { "unknown trade get", "GET /v1/trades/NOPE", "application/json", null, 404, "not-found", "tradeId" },
        { "unknown trade history", "GET /v1/trades/NOPE/history", "application/json", null, 404, "not-found", "tradeId" },
        { "delete with expectedVersion in a body", "DELETE /v1/trades/EXIST-1", "application/json", """{"expectedVersion":1}""", 400, "validation", "body" },
        { "bad delete version", "DELETE /v1/trades/EXIST-1?expectedVersion=x", "application/json", null, 400, "validation", "expectedVersion" },
        { "page size over limit", "GET /v1/trades?limit=51", "application/json", null, 400, "validation", "limit" },
        { "page size zero", "GET /v1/trades?limit=0", "application/json", null, 400, "validation", "limit" },
        { "unknown list filter", "GET /v1/trades?acount=ACC-1", "application/json", null, 400, "validation", "acount" },
        { "bad status filter", "GET /v1/trades?status=open", "application/json", null, 400, "validation", "status" },
        { "bad from filter", "GET /v1/trades?from=yesterday", "application/json", null, 400, "validation", "from" },
        { "bad cursor", "GET /v1/trades?cursor=%21%21", "application/json", null, 400, "validation", "cursor" },
        { "empty list filter", "GET /v1/trades?account=", "application/json", null, 400, "validation", "account" },
        { "empty positions filter", "GET /v1/positions?account=", "application/json", null, 400, "validation", "account" },
        { "NUL in a list filter", "GET /v1/trades?account=%00", "application/json", null, 400, "validation", "account" },
        { "control character in a list filter", "GET /v1/trades?symbol=AA%01PL", "application/json", null, 400, "validation", "symbol" },
        { "DEL in a positions filter", "GET /v1/positions?account=ACC%7F", "application/json", null, 400, "validation", "account" },
        { "control character in a change-feed filter", "GET /v1/changes?account=%1F", "application/json", null, 400, "validation", "account" },
        { "stray space in a list's account", "GET /v1/trades?account=%20ACC-1", "application/json", null, 400, "validation", "account" },
        { "symbol longer than any trade's in a list", "GET /v1/trades?account=ACC-1&symbol=" + new string('S', 33), "application/json", null, 400, "validation", "symbol" },
        { "stray space in a positions filter", "GET /v1/positions?account=ACC-1%20", "application/json", null, 400, "validation", "account" },
        { "non-ASCII symbol in a change-feed filter", "GET /v1/changes?symbol=%C3%84PL", "application/json", null, 400, "validation", "symbol" },
        { "from after to", "GET /v1/trades?from=2027-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "application/json", null, 400, "validation", "to" },
        { "SQL that is not Unicode", "POST /v1/query", "application/json", """{"sql":"SELECT '\ud800'"}""", 400, "malformed-json", "sql" },
        { "expectedVersion in a fill's query", "POST /v1/trades/EXIST-1/fill?expectedVersion=9", "application/json", """{"quantity":"1","price":"1"}""", 400, "validation", "expectedVersion" },
        { "expectedVersion in a cancel's query", "POST /v1/trades/EXIST-1/cancel?expectedVersion=9", "application/json", "{}", 400, "validation", "expectedVersion" },
        { "query parameter on an amend", "POST /v1/trades/EXIST-1/amend?price=3", "application/json", """{"expectedVersion":1,"price":"2"}""", 400, "validation", "price" },
        { "query parameter on a create", "POST /v1/trades?dryRun=true", "application/json", ApiClient.CreateBody("N-1"), 400, "validation", "dryRun" },
        { "query parameter on a batch", "POST /v1/trades/batch?atomic=1", "application/json", $"[{ApiClient.CreateBody("N-1")}]", 400, "validation", "atomic" },
        { "query parameter on a read", "GET /v1/trades/EXIST-1?fields=price", "application/json", null, 400, "validation", "fields" },
        { "query parameter on a history", "GET /v1/trades/EXIST-1/history?fields=price", "application/json", null, 400, "validation", "fields" },
        { "history page size over limit", "GET /v1/trades/EXIST-1/history?limit=51", "application/json", null, 400, "validation", "limit" },
        { "history page size zero", "GET /v1/trades/EXIST-1/history?limit=0", "application/json", null, 400, "validation", "limit" },
        { "history page size not a number", "GET /v1/trades/EXIST-1/history?limit=ten", "application/json", null, 400, "validation", "limit" },
        { "bad history cursor", "GET /v1/trades/EXIST-1/history?cursor=%21%21", "application/json", null, 400, "validation", "cursor" },
        { "empty history cursor", "GET /v1/trades/EXIST-1/history?cursor=", "application/json", null, 400, "validation", "cursor" },
        { "positions page size over limit", "GET /v1/positions?limit=51", "application/json", null, 400, "validation", "limit" },
        { "positions page size zero", "GET /v1/positions?limit=0", "application/json", null, 400, "validation", "limit" },
        { "bad positions cursor", "GET /v1/positions?cursor=%21%21", "application/json", null, 400, "validation", "cursor" },
        { "empty positions cursor", "GET /v1/positions?account=ACC-1&cursor=", "application/json", null, 400, "validation", "cursor" },
        { "unknown endpoint", "GET /v1/trade/EXIST-1", "application/json", null, 404, "unknown-endpoint", null },
        { "unknown endpoint with a malformed minSeq", "GET /v1/trade/EXIST-1?minSeq=x", "application/json", null, 404, "unknown-endpoint", null },
        { "unknown endpoint with a minSeq not reached", "GET /v1/nothing?minSeq=999999999", "application/json", null, 404, "unknown-endpoint", null },
        { "unknown method", "PUT /v1/trades", "application/json", ApiClient.CreateBody("N-1"), 405, "method-not-allowed", null },
        { "POST to a trade", "POST /v1/trades/EXIST-1", "application/json", """{"quantity":"1","price":"1"}""", 405, "method-not-allowed", null },
        { "DELETE on liveness", "DELETE /health/live", "application/json", null, 405, "method-not-allowed", null },
        { "PUT on readiness", "PUT /health/ready", "application/json", "{}", 405, "method-not-allowed", null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Request_BadInput_DocumentedProblemAndNothingChanged(string name, string request, string contentType, string? body, int status, string type, string? field)
    {
        await Api.CreateAsync(Existing);
        var before = await SnapshotAsync();
        var (method, path) = (request.Split(' ')[0], request.Split(' ')[1]);

        var answer = await Api.SendAsync(new HttpMethod(method), path, body, contentType);

        Assert.True(status == answer.Code, $"{name}: {answer.Code} {answer.Raw}");
        Assert.Equal("application/problem+json", answer.ContentType);
        Assert.Equal("urn:tradestore:problem:" + type, answer.ProblemType);
        Assert.Equal(status, answer.Body.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(answer.Body.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(answer.Body.GetProperty("detail").GetString()));
        Assert.DoesNotContain("\\u00", answer.Raw);
        Assert.DoesNotContain("BytePositionInLine", answer.Raw); // the position is said once, as "(line L, byte B)"
        if (field is not null)
        {
            Assert.True(field == answer.Field, $"{name}: field {answer.Field} in {answer.Raw}");
        }

        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task Filters_NamesEveryCharacterAndLengthACreateTakes_AnsweredNotRefused()
    {
        // The other side of the stray-space cases above: a name a trade can have is a filter, with trades or without.
        var account = "A/b:C.d_e-9" + new string('x', 53);
        var symbol = "EUR/USD:x.y_z-" + new string('S', 18);
        await Api.CreateAsync("F-1", account: account, symbol: symbol);

        var list = await Api.GetAsync($"/v1/trades?account={Uri.EscapeDataString(account)}&symbol={Uri.EscapeDataString(symbol)}");
        var positions = await Api.GetAsync($"/v1/positions?account={Uri.EscapeDataString(account)}");
        var none = await Api.GetAsync("/v1/trades?account=acc-none&symbol=aapl");

        Assert.True(list.Status == HttpStatusCode.OK, list.Raw);
        Assert.Equal("F-1", list.Body.GetProperty("items")[0].GetProperty("tradeId").GetString());
        Assert.True(positions.Status == HttpStatusCode.OK, positions.Raw);
        Assert.True(none.Status == HttpStatusCode.OK, none.Raw);
        Assert.Equal(0, none.Body.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Create_ChunkedBodyWithoutLengthOverLimit_PayloadTooLargeAndNothingWritten()
    {
        var body = ApiClient.CreateBody("N-1", extra: $$""","venue":"{{new string('x', 5000)}}" """);
        using var content = new UnknownLengthContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = new("application/json");

        using var response = await Http.PostAsync("/v1/trades", content, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await Api.GetAsync("/v1/trades/N-1")).Status);
    }

    [Fact]
    public async Task Batch_IdempotencyKeyHeader_RefusedNotIgnoredAndNothingWritten()
    {
        await Api.CreateAsync(Existing);
        var before = await SnapshotAsync();
        const string Fill = """[{"type":"fill","tradeId":"EXIST-1","quantity":"1","price":"1"}]""";

        var first = await Api.PostAsync("/v1/trades/batch", Fill, idempotencyKey: "batch-1");
        var retry = await Api.PostAsync("/v1/trades/batch", Fill, idempotencyKey: "batch-1");

        // Ignored, the header let the retry fill a second time.
        Assert.Equal(400, first.Code);
        Assert.Equal("urn:tradestore:problem:validation", first.ProblemType);
        Assert.Equal("Idempotency-Key", first.Field);
        Assert.Equal(400, retry.Code);
        Assert.Equal(before, await SnapshotAsync());
    }

    /// <summary>A version past long's range, or with a fraction, was "expected an integer": the first is one.</summary>
    [Theory]
    [InlineData("99999999999999999999")]
    [InlineData("1.5")]
    public async Task Amend_ExpectedVersionNotAWholeNumberInRange_DetailSaysWhatIsTaken(string version)
    {
        await Api.CreateAsync(Existing);
        var before = await SnapshotAsync();

        var answer = await Api.PostAsync("/v1/trades/EXIST-1/amend", $$"""{"expectedVersion":{{version}},"price":"2"}""");

        Assert.Equal(400, answer.Code);
        Assert.Equal("expectedVersion", answer.Body.GetProperty("field").GetString());
        Assert.Contains("a whole number from 1 to 9223372036854775807", answer.Body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task MethodNotAllowed_NamesTheAllowedMethodsInHeaderAndDetail()
    {
        var answer = await Api.SendAsync(HttpMethod.Put, "/v1/trades", ApiClient.CreateBody("N-1"));

        // Routing's Allow header (a content header to HttpClient) is what the detail repeats.
        Assert.Equal(405, answer.Code);
        Assert.EndsWith("it takes GET, HEAD, POST.", answer.Body.GetProperty("detail").GetString());
    }

    /// <summary>Bytes that are not UTF-8 inside a JSON string: "not valid Unicode" naming the field, never "wrong JSON type" or a 500.</summary>
    [Theory]
    [InlineData("/v1/trades", "venue")]
    [InlineData("/v1/trades/batch", "venue")]
    [InlineData("/v1/query", "sql")]
    public async Task Request_StringNotUtf8_MalformedJsonNamingFieldAndNothingWritten(string path, string field)
    {
        await Api.CreateAsync(Existing);
        var before = await SnapshotAsync();
        var json = path == "/v1/query" ? """{"sql":"SELECT 'X'"}""" : ApiClient.CreateBody("N-1", extra: ""","venue":"X" """);
        if (path.EndsWith("/batch", StringComparison.Ordinal))
        {
            json = $"[{json}]";
        }

        var bytes = Encoding.UTF8.GetBytes(json);
        var at = Array.LastIndexOf(bytes, (byte)'X');
        bytes = [.. bytes[..at], 0xFF, 0xFE, .. bytes[(at + 1)..]];
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new("application/json");

        using var response = await Http.PostAsync(path, content, TestContext.Current.CancellationToken);
        var raw = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        var problem = System.Text.Json.JsonDocument.Parse(raw).RootElement;
        if (path.EndsWith("/batch", StringComparison.Ordinal))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            problem = problem.GetProperty("results")[0].GetProperty("problem");
        }
        else
        {
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, raw);
        }

        Assert.Equal("urn:tradestore:problem:malformed-json", problem.GetProperty("type").GetString());
        Assert.Equal(field, problem.GetProperty("field").GetString());
        var detail = problem.GetProperty("detail").GetString();
        Assert.Contains($"{field} is not valid Unicode", detail, StringComparison.Ordinal);
        Assert.Contains("it holds bytes that are not UTF-8", detail, StringComparison.Ordinal);
        Assert.Equal(before, await SnapshotAsync());
    }

    /// <summary>Problems whose words were System.Text.Json's or the wrong rule's: each now says what is wrong in the client's terms.</summary>
    [Theory]
    [InlineData("POST /v1/trades", "executedAt", "9999-12-31T23:59:59.9999999-14:00", "executedAt must be a time between the years 1 and 9999 once its offset is applied")]
    [InlineData("POST /v1/trades", "executedAt", "0001-01-01T00:00:00+01:00", "executedAt must be a time between the years 1 and 9999 once its offset is applied")]
    [InlineData("POST /v1/trades/EXIST-1/cancel", null, " ", "holds no JSON value")]
    [InlineData("GET /v1/trades?from=9999-12-31T23:59:59-14:00", null, null, "between the years 1 and 9999 once its offset is applied")]
    [InlineData("POST /v1/trades", "executedAt", "2026-01-02T03:04:05+15:00", "has the offset +15:00, which no zone has: offsets run from -14:00 to +14:00")]
    [InlineData("POST /v1/trades", "executedAt", "2026-01-02T03:04:05-14:01", "has the offset -14:01, which no zone has")]
    [InlineData("POST /v1/trades", "executedAt", "2026-01-02T03:04:05+01:60", "has the offset +01:60, which no zone has")]
    [InlineData("GET /v1/trades?from=2026-01-02T03:04:05%2B15:00", null, null, "from has the offset +15:00, which no zone has")]
    [InlineData("GET /v1/trades?to=2026-01-02T03:04:05-14:30", null, null, "to has the offset -14:30, which no zone has")]
    public async Task Request_OddButWellFormedInput_DetailSaysWhatIsWrong(string request, string? timeField, string? value, string expected)
    {
        await Api.CreateAsync(Existing);
        var (method, path) = (request.Split(' ')[0], request.Split(' ')[1]);
        var body = timeField is null ? value : ApiClient.CreateBody("N-1", extra: $",\"{timeField}\":\"{value}\"");

        var answer = await Api.SendAsync(new HttpMethod(method), path, body);

        Assert.Equal(400, answer.Code);
        Assert.Contains(expected, answer.Body.GetProperty("detail").GetString());
        Assert.DoesNotContain("isFinalBlock", answer.Raw);
    }

    /// <summary>
    /// The same text is the same time, or refused for the same reason, in a body (<c>executedAt</c>) and in a list's query
    /// (<c>from</c>): the strict ISO 8601 profile with a zone. Before, the query read times with DateTimeOffset.TryParse
    /// and took every "looser" shape below that the body refused.
    /// </summary>
    [Theory]
    // accepted: the time in UTC as the trade answers it
    [InlineData("2026-12-04T00:00:00Z", "2026-12-04T00:00:00.000000Z")]
    [InlineData("2026-12-04T00:00Z", "2026-12-04T00:00:00.000000Z")]
    [InlineData("2026-12-04T00:00:00.5+01:00", "2026-12-03T23:00:00.500000Z")]
    [InlineData("2026-12-04T00:00:00-05:30", "2026-12-04T05:30:00.000000Z")]
    [InlineData("2026-12-04T00:00:00+01", "2026-12-03T23:00:00.000000Z")]
    [InlineData("2026-12-04T00:00:00-00:00", "2026-12-04T00:00:00.000000Z")]
    [InlineData("2026-12-04T00:00:00+14:00", "2026-12-03T10:00:00.000000Z")]
    // refused, with what the reason says
    [InlineData("2026-12-04t00:00:00z", "must be an ISO 8601 time with a zone")] // the query took these three
    [InlineData("2026-12-04T00:00:00z", "must be an ISO 8601 time with a zone")]
    [InlineData("2026-12-04t00:00:00Z", "must be an ISO 8601 time with a zone")]
    [InlineData("2026-12-04T00:00:00 Z", "must be an ISO 8601 time with a zone")]
    [InlineData("2026-12-04T00:00:00+1", "must be an ISO 8601 time with a zone")] // and this one
    [InlineData("2026-12-04T00:00:00+0100", "must be an ISO 8601 time with a zone")] // and this one
    [InlineData("2026-12-04T00:00:00,5Z", "must be an ISO 8601 time with a zone")] // and this one
    [InlineData("2026-12-04T00:00:00.Z", "must be an ISO 8601 time with a zone")] // the body took this one
    [InlineData("2026-12-04 00:00:00Z", "must be an ISO 8601 time with a zone")]
    [InlineData("Dec 4 2026 T00:00Z", "must be an ISO 8601 time with a zone")]
    [InlineData("2026-12-4T0:0:0Z", "must be an ISO 8601 time with a zone")]
    [InlineData("2026-12-04T24:00:00Z", "must be an ISO 8601 time with a zone")]
    [InlineData("1764806400", "must be an ISO 8601 time with a zone")]
    [InlineData("yesterday", "must be an ISO 8601 time with a zone")]
    [InlineData("2026-12-04T00:00:00", "must name its zone")]
    [InlineData("2026-12-04", "must name its zone")]
    [InlineData("2026-12-04T00:00:00+15:00", "has the offset +15:00, which no zone has")]
    [InlineData("2026-12-04T00:00:00+01:60", "has the offset +01:60, which no zone has")]
    [InlineData("2026-12-04T00:00:00-15", "has the offset -15, which no zone has")]
    [InlineData("9999-12-31T23:59:59-14:00", "must be a time between the years 1 and 9999 once its offset is applied")]
    [InlineData("0001-01-01T00:00:00+01:00", "must be a time between the years 1 and 9999 once its offset is applied")]
    public async Task Time_SameTextInBodyAndQuery_AcceptedOrRefusedAlike(string time, string expected)
    {
        var accepted = expected.EndsWith('Z');

        var body = await Api.PostAsync("/v1/trades", ApiClient.CreateBody("N-1", extra: $",\"executedAt\":\"{time}\""));
        var query = await Api.GetAsync($"/v1/trades?from={Uri.EscapeDataString(time)}");

        if (accepted)
        {
            Assert.True(body.Status == HttpStatusCode.Created, body.Raw);
            Assert.Equal(expected, body.Body.GetProperty("executedAt").GetString());
            Assert.True(query.Status == HttpStatusCode.OK, query.Raw);
            // The query reads the same instant: from is inclusive, so the trade executed at it is listed.
            var listed = Assert.Single(query.Body.GetProperty("items").EnumerateArray());
            Assert.Equal("N-1", listed.GetProperty("tradeId").GetString());
            return;
        }

        Assert.Equal(400, body.Code);
        Assert.Equal("urn:tradestore:problem:validation", body.ProblemType);
        Assert.Equal("executedAt", body.Field);
        Assert.Equal(400, query.Code);
        Assert.Equal("urn:tradestore:problem:validation", query.ProblemType);
        Assert.Equal("from", query.Field);

        // One reason in two wrappings: "executedAt <reason>." and "from <reason>; got '<time>'.".
        var bodyDetail = body.Body.GetProperty("detail").GetString()!;
        var queryDetail = query.Body.GetProperty("detail").GetString()!;
        Assert.StartsWith("executedAt ", bodyDetail);
        Assert.EndsWith(".", bodyDetail);
        var reason = bodyDetail["executedAt ".Length..^1];
        Assert.Contains(expected, reason);
        Assert.Equal($"from {reason}; got '{time}'.", queryDetail);
    }

    /// <summary>A '+' in a query that was not percent-encoded arrives as a space; the offset is still read as one.</summary>
    [Fact]
    public async Task ListFrom_OffsetWithPlusNotPercentEncoded_ReadAsTheOffset()
    {
        await Api.CreateAsync("N-1", extra: ""","executedAt":"2026-12-03T23:00:00Z" """);

        var at = await Api.GetAsync("/v1/trades?from=2026-12-04T00:00:00+01:00");
        var after = await Api.GetAsync("/v1/trades?from=2026-12-04T00:00:00.000001+01:00");

        Assert.True(at.Status == HttpStatusCode.OK, at.Raw);
        Assert.Equal("N-1", Assert.Single(at.Body.GetProperty("items").EnumerateArray()).GetProperty("tradeId").GetString());
        Assert.True(after.Status == HttpStatusCode.OK, after.Raw);
        Assert.Empty(after.Body.GetProperty("items").EnumerateArray());
    }

    /// <summary>A body that starts with a UTF-8 byte order mark (as Windows editors save one) is refused naming it, whole.</summary>
    [Theory]
    [InlineData("/v1/trades", "application/json")]
    [InlineData("/v1/trades/batch", "application/x-ndjson")]
    [InlineData("/v1/trades/batch", "application/json")]
    public async Task Body_StartingWithByteOrderMark_RefusedNamingItAndNothingWritten(string path, string contentType)
    {
        var before = await SnapshotAsync();
        var json = ApiClient.CreateBody("N-1");
        json = contentType == "application/x-ndjson" ? json + "\n" : path.EndsWith("/batch", StringComparison.Ordinal) ? $"[{json}]" : json;
        using var content = new ByteArrayContent([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(json)]);
        content.Headers.ContentType = new(contentType);

        using var response = await Http.PostAsync(path, content, TestContext.Current.CancellationToken);
        var raw = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        // Before: malformed-json "'0xEF' is an invalid start of a value" (an NDJSON batch: line 1 failing alone, 200).
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, raw);
        var problem = System.Text.Json.JsonDocument.Parse(raw).RootElement;
        Assert.Equal("urn:tradestore:problem:malformed-json", problem.GetProperty("type").GetString());
        Assert.Equal("body", problem.GetProperty("field").GetString());
        Assert.Contains("byte order mark", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await SnapshotAsync());
    }

    /// <summary>A venue or trader past 64 UTF-16 code units is refused saying how it is counted: 33 emoji are 66 units.</summary>
    [Fact]
    public async Task Create_VenueOfEmojiPastTheLimit_DetailSaysCodeUnitsAndNothingWritten()
    {
        var before = await SnapshotAsync();
        var venue = string.Concat(Enumerable.Repeat("\U0001F680", 33));

        var answer = await Api.PostAsync("/v1/trades", ApiClient.CreateBody("N-1", extra: $",\"venue\":\"{venue}\""));

        Assert.Equal(400, answer.Code);
        Assert.Equal("venue", answer.Field);
        Assert.Equal("venue is 66 UTF-16 code units long; the most is 64 (a character beyond U+FFFF, such as an emoji, counts as 2).", answer.Body.GetProperty("detail").GetString());
        Assert.Equal(before, await SnapshotAsync());
    }

    /// <summary>A create missing several fields names them all in one answer (the first as <c>field</c>), not one per round trip.</summary>
    [Theory]
    [InlineData("""{"tradeId":"N-1"}""", "account", "account, symbol, side, quantity and price are required.")]
    [InlineData("""{"tradeId":"N-1","account":"A","symbol":"S","quantity":"1"}""", "side", "side and price are required.")]
    [InlineData("""{"account":"A","symbol":"S","side":"buy","quantity":"1","price":"1"}""", "tradeId", "tradeId is required.")]
    public async Task Create_FieldsMissing_EveryOneNamedAndNothingWritten(string body, string field, string detail)
    {
        var before = await SnapshotAsync();

        var answer = await Api.PostAsync("/v1/trades", body);

        Assert.Equal(400, answer.Code);
        Assert.Equal(field, answer.Field);
        Assert.Equal(detail, answer.Body.GetProperty("detail").GetString());
        Assert.Equal(before, await SnapshotAsync());
    }

    /// <summary>A compressed body is refused as such (415 naming Content-Encoding), not as malformed JSON; nothing is written.</summary>
    [Theory]
    [InlineData("gzip")]
    [InlineData("identity, br")]
    public async Task Create_ContentEncoded_UnsupportedNamingContentEncodingAndNothingWritten(string encoding)
    {
        var before = await SnapshotAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/trades");
        request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(ApiClient.CreateBody("N-1")));
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        request.Content.Headers.TryAddWithoutValidation("Content-Encoding", encoding);

        var answer = await Api.SendAsync(request);

        Assert.Equal(415, answer.Code);
        Assert.Equal("urn:tradestore:problem:unsupported-media-type", answer.ProblemType);
        Assert.Equal("Content-Encoding", answer.Field);
        Assert.Contains(encoding.Split(", ")[^1], answer.Body.GetProperty("detail").GetString());
        Assert.Equal(before, await SnapshotAsync());
    }

    /// <summary>An uncompressed body that says so (<c>Content-Encoding: identity</c>) is taken as any other.</summary>
    [Fact]
    public async Task Create_ContentEncodingIdentity_Created()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/trades");
        request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(ApiClient.CreateBody("N-1")));
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        request.Content.Headers.TryAddWithoutValidation("Content-Encoding", "identity");

        var answer = await Api.SendAsync(request);

        Assert.Equal(201, answer.Code);
    }

    /// <summary>A caller's long property or parameter name is said back cut to 100 characters, not in full twice.</summary>
    [Fact]
    public async Task Request_LongUnknownName_EchoedCutShort()
    {
        var name = new string('k', 1_500); // within this host's 2,048-byte body limit

        var property = await Api.PostAsync("/v1/trades", ApiClient.CreateBody("N-1", extra: $",\"{name}\":1"));
        var parameter = await Api.GetAsync($"/v1/trades?{name}=1");

        foreach (var answer in new[] { property, parameter })
        {
            Assert.Equal(400, answer.Code);
            Assert.Equal(new string('k', 100) + "…", answer.Field);
            Assert.True(answer.Raw.Length < 1_000, $"{answer.Raw.Length} bytes");
        }
    }

    /// <summary>A lone surrogate escape is legal JSON grammar but not Unicode text: said so, naming the field, never "wrong JSON type".</summary>
    [Theory]
    [InlineData("account", @"\ud800")]
    [InlineData("symbol", @"\udc00")]
    [InlineData("venue", @"A\ud83dB")] // a high half followed by no low half
    public async Task Create_LoneSurrogateInString_MalformedJsonNamingFieldAndNothingWritten(string field, string escaped)
    {
        await Api.CreateAsync(Existing);
        var body = field switch
        {
            "account" => ApiClient.CreateBody("N-1", account: escaped),
            "symbol" => ApiClient.CreateBody("N-1", symbol: escaped),
            _ => ApiClient.CreateBody("N-1", extra: $",\"venue\":\"{escaped}\""),
        };
        var before = await SnapshotAsync();

        var answer = await Api.PostAsync("/v1/trades", body);
        var batch = await Api.PostAsync("/v1/trades/batch", $"[{body}]");

        Assert.Equal(400, answer.Code);
        Assert.Equal("urn:tradestore:problem:malformed-json", answer.ProblemType);
        Assert.Equal(field, answer.Field);
        var detail = answer.Body.GetProperty("detail").GetString();
        Assert.Contains("not valid Unicode", detail, StringComparison.Ordinal);
        Assert.Contains("lone UTF-16 surrogate", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong JSON type", detail, StringComparison.Ordinal);
        var item = batch.Body.GetProperty("results")[0];
        Assert.Equal(400, item.GetProperty("status").GetInt32());
        Assert.Contains("not valid Unicode", item.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(before, await SnapshotAsync());
    }

    /// <summary>What a client can observe of the store: the existing trade, its history, and the list of every trade.</summary>
    private async Task<string> SnapshotAsync()
    {
        var trade = await Api.GetAsync($"/v1/trades/{Existing}");
        var history = await Api.GetAsync($"/v1/trades/{Existing}/history");
        var list = await Api.GetAsync("/v1/trades?limit=50");
        var unknown = await Api.GetAsync("/v1/trades/NOPE/history");
        var created = await Api.GetAsync("/v1/trades/N-1");
        return string.Join("\n", trade.Raw, history.Raw, list.Raw, unknown.Code, created.Code);
    }
}

/// <summary>A body whose length is not known up front, so it travels chunked and only the reading limit can stop it.</summary>
internal sealed class UnknownLengthContent(byte[] bytes) : HttpContent
{
    protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => stream.WriteAsync(bytes).AsTask();

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
