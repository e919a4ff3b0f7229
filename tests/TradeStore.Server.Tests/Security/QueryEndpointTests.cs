using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using TradeStore.Storage.Engine;
namespace TradeStore.Server.Tests.Security;

/// <summary><c>POST /v1/query</c>: one read-only SELECT, nothing else, within its time and row limits.</summary>
public sealed class QueryEndpointTests(SecuredHost host) : IClassFixture<SecuredHost>
{
    public static TheoryData<string> Refused() =>
    [
        "COPY trade_state TO '/tmp/tradestore-leak.csv'",
        "ATTACH '/tmp/tradestore-other.duckdb' AS other",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET threads = 1",
        "PRAGMA enable_profiling",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT getenv('HOME')",
        "SELECT * FROM sniff_csv('/etc/passwd')",
        "SELECT 1; SELECT 2",
        "SELECT 1; DROP TABLE trade_state",
        "CREATE TABLE stolen AS SELECT * FROM trade_state",
        "DROP TABLE trade_events",
        "ALTER TABLE trade_state ADD COLUMN x INT",
        "INSERT INTO trade_state SELECT * FROM trade_state",
        "UPDATE trade_state SET price = 0",
        "DELETE FROM trade_events",
        "SELECT * FROM query('DELETE FROM trade_events')",
        "CALL enable_profiling()",
        "EXPORT DATABASE '/tmp/tradestore-export'",
        "CHECKPOINT",
        "SELECT $1",
        "SELECT ?",
        "SELECT 1e400",
    ];

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Query_NotOneHarmlessSelect_RefusedAndNothingChanges(string sql)
    {
        var admin = host.Client(Caller.Admin);
        // DuckDB trails the acknowledgements by the apply lag: count only once it holds every acknowledged event.
        var engine = host.App.Services.GetRequiredService<WriteEngine>();
        Assert.True(engine.WaitApplied(engine.LastSeq, TimeSpan.FromSeconds(30)));
        var before = await CountEventsAsync(admin);

        var answer = await admin.PostAsync("/v1/query", System.Text.Json.JsonSerializer.Serialize(new { sql }));

        Assert.True(answer.Code == 400, $"{sql}: {answer.Code} {answer.Raw}");
        Assert.Equal("urn:tradestore:problem:query-rejected", answer.ProblemType);
        Assert.Equal("sql", answer.Field);
        Assert.Equal(before, await CountEventsAsync(admin));
        Assert.False(File.Exists("/tmp/tradestore-leak.csv"));
    }

    [Fact]
    public async Task Query_Select_RowsAsJsonWithExactDecimals()
    {
        var answer = await host.Client(Caller.Admin).PostAsync("/v1/query",
            """{"sql":"WITH t AS (SELECT trade_id, account, price FROM current_trade_state WHERE trade_id = 'T-A') SELECT * FROM t"}""");

        Assert.True(answer.Code == 200, answer.Raw);
        Assert.Equal("trade_id", answer.Body.GetProperty("columns")[0].GetProperty("name").GetString());
        var row = answer.Body.GetProperty("rows")[0];
        Assert.Equal("T-A", row[0].GetString());
        Assert.Equal("ACC-A", row[1].GetString());
        Assert.Equal(10.5m, row[2].GetDecimal());
        Assert.False(answer.Body.GetProperty("truncated").GetBoolean());
    }

    [Fact]
    public async Task Query_AcceptCsv_Rfc4180Text()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/query")
        {
            Content = new StringContent("""{"sql":"SELECT 'a,b' AS x, 2 AS y, NULL AS z"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Accept", "text/csv");
        using var http = host.App.GetTestClient(host.Keys[Caller.Admin]);

        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("x,y,z\r\n\"a,b\",2,\r\n", text);
    }

    /// <summary>The format follows the caller's q-values (RFC 9110 §12.5.1): the highest wins, q=0 never, the first listed on a tie.</summary>
    [Theory]
    [InlineData("text/csv;q=0, application/json", "application/json")]
    [InlineData("application/vnd.apache.parquet;q=0.5, text/csv;q=0.9", "text/csv")]
    [InlineData("text/csv, application/vnd.apache.arrow.stream", "text/csv")]
    [InlineData("application/json;q=0.2, application/vnd.apache.arrow.stream;q=0.8", "application/vnd.apache.arrow.stream")]
    [InlineData("*/*", "application/json")]
    [InlineData("text/csvx, application/vnd.apache.arrow.streaming", "application/json")]
    public async Task Query_AcceptWithQualities_AnswersThePreferredFormat(string accept, string expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/query")
        {
            Content = new StringContent("""{"sql":"SELECT 1 AS x"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Accept", accept);
        using var http = host.App.GetTestClient(host.Keys[Caller.Admin]);

        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Query_MoreRowsThanLimit_TruncatedFlag()
    {
        var answer = await host.Client(Caller.Admin).PostAsync("/v1/query", """{"sql":"SELECT * FROM range(20000)"}""");

        Assert.Equal(200, answer.Code);
        Assert.Equal(10_000, answer.Body.GetProperty("rowCount").GetInt32());
        Assert.True(answer.Body.GetProperty("truncated").GetBoolean());
    }

    [Theory]
    [InlineData("""{"sql":"SELECT 1","limit":5}""")]
    [InlineData("""{"query":"SELECT 1"}""")]
    [InlineData("""["SELECT 1"]""")]
    [InlineData("""{"sql":""}""")]
    [InlineData("""{"sql":1}""")]
    public async Task Query_MalformedBody_400NamingSql(string body)
    {
        var answer = await host.Client(Caller.Admin).PostAsync("/v1/query", body);

        Assert.Equal(400, answer.Code);
        Assert.Equal("sql", answer.Field);
    }

    /// <summary>
    /// From the API audit of session 32: a body that is not JSON was answered 400 validation "Send a JSON object {"sql":
    /// …} and nothing else", not the malformed-json problem with line and byte every other endpoint gives.
    /// </summary>
    [Theory]
    [InlineData("""{"sql":"SELECT 1" """, "(line 1, byte 19)")]
    [InlineData("{'sql':'SELECT 1'}", "(line 1, byte 2)")]
    [InlineData("{\"sql\":\"SELECT 1\",\n}", "(line 2, byte 1)")]
    public async Task Query_BodyNotJson_400MalformedJsonSayingWhere(string body, string where)
    {
        var answer = await host.Client(Caller.Admin).PostAsync("/v1/query", body);

        Assert.True(answer.Code == 400, answer.Raw);
        Assert.Equal("urn:tradestore:problem:malformed-json", answer.ProblemType);
        Assert.Contains($"The body is not valid JSON {where}", answer.Body.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private static async Task<long> CountEventsAsync(ApiClient admin)
    {
        var answer = await admin.PostAsync("/v1/query", """{"sql":"SELECT count(*) FROM trade_events"}""");
        Assert.Equal(200, answer.Code);
        return answer.Body.GetProperty("rows")[0][0].GetInt64();
    }
}

internal static class TestClientExtensions
{
    public static HttpClient GetTestClient(this Microsoft.AspNetCore.Builder.WebApplication app, string key)
    {
        var http = app.GetTestServer().CreateClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return http;
    }
}

/// <summary>Finding 2: a query is answered 422 at its timeout whatever DuckDB does, and writes go on.</summary>
public sealed class QueryTimeoutTests : ApiTestBase
{
    protected override Dictionary<string, string> Environment => new() { ["TRADESTORE__SECURITY__QUERY__TIMEOUT"] = "00:00:01" };

    [Fact]
    public async Task Query_ScanForMinutes_InterruptedAtTimeoutAndEngineStillWrites()
    {
        // Minutes of CPU in constant memory (a streamed scan), so only the timeout can stop it.
        var answer = await Api.PostAsync("/v1/query", """{"sql":"SELECT count(*) FROM range(100000000000) WHERE hash(range) = 0"}""");

        Assert.True(answer.InterruptedAtQueryTimeout, answer.Raw);
        await Api.CreateAsync("AFTER-TIMEOUT");
        // Queries run at the lowest CPU priority under this host's 1 s timeout: on a machine busy with other tests even
        // SELECT 1 can starve past it (422 query-timeout, seen in a clean-clone CI run), so it is asked again until answered.
        var after = await Api.PostAsync("/v1/query", """{"sql":"SELECT 1"}""");
        for (var attempt = 1; attempt < 20 && after.Code != 200; attempt++)
        {
            await Task.Delay(250, TestContext.Current.CancellationToken);
            after = await Api.PostAsync("/v1/query", """{"sql":"SELECT 1"}""");
        }

        Assert.Equal(200, after.Code);
    }
}
