using System.Net;
using System.Text;
using System.Text.Json;

namespace TradeStore.Server.Tests;

/// <summary>The batch endpoint (JSON array and NDJSON) and keyset pagination of the trade list.</summary>
public sealed class BatchAndListTests : ApiTestBase
{
    protected override Dictionary<string, string> Environment => new()
    {
        ["TRADESTORE__API__MAXBATCHSIZE"] = "50",
        ["TRADESTORE__API__MAXPAGESIZE"] = "100",
    };

    [Fact]
    public async Task Batch_JsonArrayWithMixedItems_OneResultPerItemInOrder()
    {
        var body = """
            [
              {"tradeId":"B-1","account":"ACC-B","symbol":"AAPL","side":"buy","quantity":"10","price":"1.5"},
              {"tradeId":"B-2","account":"ACC-B","symbol":"AAPL","side":"buy","quantity":"0.000000001","price":"1"},
              {"type":"fill","tradeId":"B-1","quantity":4,"price":"1.25"},
              {"type":"amend","tradeId":"NOPE","expectedVersion":1,"price":"2"},
              {"tradeId":"B-1","account":"ACC-B","symbol":"AAPL","side":"sell","quantity":"1","price":"1"},
              {"type":"cancel","tradeId":"B-1","price":"1"},
              {"type":"amend","tradeId":"B-1","expectedVersion":2,"trader":"zoe","idempotencyKey":"amend-b1"},
              {"type":"explode","tradeId":"B-1"},
              {"tradeId":"B-3","account":"ACC-B","symbol":"AAPL","side":"buy","quantity":"1","price":"1","version":9},
              "not an object",
              {"type":"delete","tradeId":"B-1","expectedVersion":3}
            ]
            """;

        var answer = await Api.PostAsync("/v1/trades/batch", body);

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        var results = answer.Body.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([201, 400, 200, 404, 409, 400, 200, 400, 400, 400, 200], results.Select(r => r.GetProperty("status").GetInt32()));
        Assert.Equal(Enumerable.Range(0, 11), results.Select(r => r.GetProperty("index").GetInt32()));
        Assert.Equal(4, answer.Body.GetProperty("succeeded").GetInt32());
        Assert.Equal(7, answer.Body.GetProperty("failed").GetInt32());
        Assert.Equal("quantity", Problem(results[1]).GetProperty("field").GetString());
        Assert.Equal("4", results[2].GetProperty("trade").GetProperty("filledQuantity").GetRawText());
        Assert.Equal("price", Problem(results[5]).GetProperty("field").GetString());
        Assert.Equal("type", Problem(results[7]).GetProperty("field").GetString());
        Assert.Equal("version", Problem(results[8]).GetProperty("field").GetString());
        Assert.Equal("deleted", results[10].GetProperty("trade").GetProperty("status").GetString());

        // Only the good items were written: B-1's create, fill, amend and delete; nothing of B-2 or B-3.
        Assert.Equal(4, await Api.HistoryCountAsync("B-1"));
        Assert.Equal(0, await Api.HistoryCountAsync("B-2"));
        Assert.Equal(0, await Api.HistoryCountAsync("B-3"));
    }

    [Fact]
    public async Task Batch_NdJsonWithMalformedLine_OnlyThatLineFails()
    {
        var body = new StringBuilder()
            .Append("""{"tradeId":"N-1","account":"ACC-N","symbol":"MSFT","side":"sell","quantity":"2.5","price":"300.12345678"}""").Append('\n')
            .Append("""{"tradeId":"N-2","account":"ACC-N",""").Append("\r\n")
            .Append('\n')
            .Append("""{"type":"fill","tradeId":"N-1","quantity":"2.5","price":"300"}""").Append('\n')
            .ToString();

        var answer = await Api.PostAsync("/v1/trades/batch", body, "application/x-ndjson");

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        var results = answer.Body.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([201, 400, 200], results.Select(r => r.GetProperty("status").GetInt32()));
        Assert.Equal("urn:tradestore:problem:malformed-json", Problem(results[1]).GetProperty("type").GetString());
        Assert.StartsWith("Line 2:", Problem(results[1]).GetProperty("detail").GetString());
        Assert.Equal("filled", results[2].GetProperty("trade").GetProperty("status").GetString());
        Assert.Equal("300.12345678", (await Api.GetAsync("/v1/trades/N-1")).RawOf("price"));
    }

    /// <summary>
    /// An NDJSON item's problem names its line of the body and the byte in that line; an array item's gives no position
    /// (the serializer counts from the item, not the body). A null type is refused, not taken for a create.
    /// </summary>
    [Fact]
    public async Task Batch_ItemProblems_PositionsInTheBodyAndNullTypeRefused()
    {
        var create = """{"tradeId":"P-1","account":"ACC-P","symbol":"MSFT","side":"sell","quantity":"1","price":"1"}""";
        var duplicate = """{"tradeId":"P-2","tradeId":"P-3","account":"ACC-P","symbol":"MSFT","side":"sell","quantity":"1","price":"1"}""";
        var nullType = """{"type":null,"tradeId":"P-4","account":"ACC-P","symbol":"MSFT","side":"sell","quantity":"1","price":"1"}""";

        var lines = await Api.PostAsync("/v1/trades/batch", $"{create}\n\n{duplicate}\n{nullType}\n", "application/x-ndjson");
        var array = await Api.PostAsync("/v1/trades/batch", $"[\n  {create.Replace("P-1", "P-5", StringComparison.Ordinal)},\n  {duplicate},\n  {nullType}\n]");

        var fromLines = lines.Body.GetProperty("results").EnumerateArray().ToList();
        var fromArray = array.Body.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([201, 400, 400], fromLines.Select(r => r.GetProperty("status").GetInt32()));
        Assert.Equal([201, 400, 400], fromArray.Select(r => r.GetProperty("status").GetInt32()));
        Assert.Equal("The property 'tradeId' appears more than once.", Problem(fromArray[1]).GetProperty("detail").GetString());
        var duplicateOnLine3 = Problem(fromLines[1]).GetProperty("detail").GetString()!;
        Assert.StartsWith("Line 3: The property 'tradeId' appears more than once (byte ", duplicateOnLine3);
        Assert.DoesNotContain("line 1", duplicateOnLine3);
        foreach (var refused in new[] { fromLines[2], fromArray[2] })
        {
            Assert.Equal("type", Problem(refused).GetProperty("field").GetString());
        }

        Assert.StartsWith("Line 4:", Problem(fromLines[2]).GetProperty("detail").GetString());
        Assert.Equal(0, await Api.HistoryCountAsync("P-4"));
    }

    [Fact]
    public async Task Batch_RetriedWithIdempotencyKeys_ReplaysAndWritesOnce()
    {
        var body = """[{"tradeId":"I-1","account":"A","symbol":"S","side":"buy","quantity":"1","price":"1","idempotencyKey":"k-1"}]""";

        var first = await Api.PostAsync("/v1/trades/batch", body);
        var retry = await Api.PostAsync("/v1/trades/batch", body);

        var replayed = retry.Body.GetProperty("results")[0];
        Assert.Equal(201, replayed.GetProperty("status").GetInt32());
        Assert.True(replayed.GetProperty("replayed").GetBoolean());
        Assert.Equal(first.Body.GetProperty("results")[0].GetProperty("trade").GetRawText(), replayed.GetProperty("trade").GetRawText());
        Assert.Equal(1, await Api.HistoryCountAsync("I-1"));
    }

    [Fact]
    public async Task Batch_OverLimit_PayloadTooLargeAndNothingWritten()
    {
        var items = Enumerable.Range(0, 51).Select(i => ApiClient.CreateBody($"L-{i}"));

        var array = await Api.PostAsync("/v1/trades/batch", "[" + string.Join(",", items) + "]");
        var lines = await Api.PostAsync("/v1/trades/batch", string.Join("\n", items), "application/x-ndjson");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, array.Status);
        Assert.Equal("urn:tradestore:problem:batch-too-large", array.ProblemType);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, lines.Status);
        Assert.Empty((await Api.GetAsync("/v1/trades")).Body.GetProperty("items").EnumerateArray());
    }

    [Theory]
    [InlineData("[]", "application/json", 400)]
    [InlineData("""{"tradeId":"X"}""", "application/json", 400)]
    [InlineData("[{\"tradeId\":", "application/json", 400)]
    [InlineData("[{\"tradeId\":\"W-1\",\"account\":\"ACC-W\",\"symbol\":\"AAPL\",\"side\":\"buy\",\"quantity\":\"1\",\"price\":\"1\"},{\"tradeId\":", "application/json", 400)]
    [InlineData("[]", "text/csv", 415)]
    public async Task Batch_UnusableBody_ProblemAndNothingWritten(string body, string contentType, int status)
    {
        var answer = await Api.PostAsync("/v1/trades/batch", body, contentType);

        Assert.Equal(status, answer.Code);
        Assert.Equal("application/problem+json", answer.ContentType);
        Assert.Empty((await Api.GetAsync("/v1/trades")).Body.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task List_PagedWhileTradesArrive_EveryTradeOnceInStableOrder()
    {
        // 40 trades over 8 distinct times, so many share an executedAt and the trade id breaks ties.
        var seed = Enumerable.Range(0, 40).Select(i => Item($"S-{i:D2}", $"2026-03-01T10:00:0{i % 8}Z", i % 3 == 0 ? "ACC-X" : "ACC-Y"));
        Assert.Equal(HttpStatusCode.OK, (await Api.PostAsync("/v1/trades/batch", "[" + string.Join(",", seed) + "]")).Status);

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Api.GetAsync("/v1/trades?limit=7" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            Assert.Equal(HttpStatusCode.OK, page.Status);
            var items = page.Body.GetProperty("items").EnumerateArray().ToList();
            Assert.True(items.Count <= 7);
            seen.AddRange(items.Select(t => t.GetProperty("tradeId").GetString()!));
            cursor = page.Body.GetProperty("nextCursor").ValueKind == JsonValueKind.Null ? null : page.Body.GetProperty("nextCursor").GetString();
            if (pages++ == 1)
            {
                // Arrivals before the cursor must not shift later pages (no repeats, no gaps); the late ones appear.
                var late = new[] { Item("A-EARLY", "2026-03-01T09:00:00Z", "ACC-Y"), Item("Z-LATE", "2026-03-01T11:00:00Z", "ACC-Y") };
                Assert.Equal(HttpStatusCode.OK, (await Api.PostAsync("/v1/trades/batch", "[" + string.Join(",", late) + "]")).Status);
            }
        }
        while (cursor is not null);

        var expected = Enumerable.Range(0, 40).Select(i => (Time: i % 8, Id: $"S-{i:D2}")).OrderBy(t => t.Time).ThenBy(t => t.Id, StringComparer.Ordinal)
            .Select(t => t.Id).Append("Z-LATE").ToList();
        Assert.Equal(expected, seen);
    }

    [Fact]
    public async Task List_Filters_AccountSymbolStatusAndTimeRange()
    {
        var seed = new[]
        {
            Item("F-1", "2026-03-01T10:00:00Z", "ACC-X"),
            Item("F-2", "2026-03-01T11:00:00Z", "ACC-X"),
            Item("F-3", "2026-03-01T12:00:00Z", "ACC-X"),
            Item("F-4", "2026-03-01T11:00:00Z", "ACC-Y"),
            """{"type":"fill","tradeId":"F-2","quantity":"1","price":"1"}""",
        };
        await Api.PostAsync("/v1/trades/batch", "[" + string.Join(",", seed) + "]");

        Assert.Equal(["F-1", "F-2", "F-3"], await IdsAsync("/v1/trades?account=ACC-X"));
        Assert.Equal(["F-2", "F-4"], await IdsAsync("/v1/trades?from=2026-03-01T11:00:00Z&to=2026-03-01T12:00:00Z"));
        Assert.Equal(["F-2"], await IdsAsync("/v1/trades?status=partially_filled"));
        Assert.Equal(["F-1", "F-3"], await IdsAsync("/v1/trades?account=ACC-X&symbol=AAPL&status=new"));
        Assert.Empty(await IdsAsync("/v1/trades?symbol=NONE"));
    }

    private async Task<List<string>> IdsAsync(string path)
    {
        var answer = await Api.GetAsync(path);
        Assert.True(answer.Status == HttpStatusCode.OK, answer.Raw);
        return answer.Body.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("tradeId").GetString()!).ToList();
    }

    private static string Item(string tradeId, string executedAt, string account) =>
        $$"""{"tradeId":"{{tradeId}}","account":"{{account}}","symbol":"AAPL","side":"buy","quantity":"2","price":"1","executedAt":"{{executedAt}}"}""";

    private static JsonElement Problem(JsonElement result) => result.GetProperty("problem");
}
