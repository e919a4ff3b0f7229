using System.Text;
using CsCheck;
using Microsoft.AspNetCore.TestHost;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Security;

/// <summary>Generated JSON and random bytes against every write endpoint: never a 5xx, and refused requests write nothing.</summary>
public sealed class WriteFuzzTests
{
    private static readonly string[] Paths =
        ["/v1/trades", "/v1/trades/batch", "/v1/trades/FZ-1/amend", "/v1/trades/FZ-1/fill", "/v1/trades/FZ-1/cancel", "/v1/query"];

    private static readonly string[] Names =
        ["tradeId", "account", "symbol", "side", "quantity", "price", "expectedVersion", "type", "venue", "trader", "executedAt",
         "version", "status", "seq", "recordedAt", "sql", "", "Quantity", "__proto__"];

    private static readonly Gen<string> Scalar = Gen.OneOf(
        Gen.Const("null"), Gen.Const("true"), Gen.Const("\"buy\""), Gen.Const("\"sell\""), Gen.Const("\"FZ-1\""), Gen.Const("\"ACC-F\""),
        Gen.Const("\"2026-01-02T03:04:05Z\""), Gen.Const("[]"), Gen.Const("{}"), Gen.Const("1e400"), Gen.Const("-0"), Gen.Const("\"\\u0000\""),
        Gen.Decimal.Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Gen.Long.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Gen.String.Select(s => System.Text.Json.JsonSerializer.Serialize(s)));

    private static readonly Gen<string> JsonObject = Gen.Select(Gen.Int[0, Names.Length - 1], Scalar)
        .Array[0, 9]
        .Select(pairs => "{" + string.Join(",", pairs.Select(p => $"\"{Names[p.Item1]}\":{p.Item2}")) + "}");

    private static readonly Gen<byte[]> Body = Gen.OneOf(
        JsonObject.Select(Encoding.UTF8.GetBytes),
        JsonObject.Array[0, 5].Select(items => Encoding.UTF8.GetBytes("[" + string.Join(",", items) + "]")),
        JsonObject.Array[1, 5].Select(items => Encoding.UTF8.GetBytes(string.Join("\n", items))),
        JsonObject.Select(j => Encoding.UTF8.GetBytes(j[..(j.Length / 2)])),
        Gen.Byte.Array[0, 300]);

    [Fact]
    public async Task WriteEndpoints_10000GeneratedBodies_No5xxAndRefusedChangeNothing()
    {
        using var directory = new TempDirectory();
        await using var app = await TestHostFactory.StartAsync(directory.Path, new()
        {
            ["TRADESTORE__SECURITY__REQUESTSPERSECOND"] = "0",
            ["TRADESTORE__SECURITY__CONCURRENTREQUESTS"] = "0",
            ["TRADESTORE__SECURITY__QUERY__TIMEOUT"] = "00:00:01",
        });
        var http = app.GetTestServer().CreateClient();
        var client = new ApiClient(http);
        await client.CreateAsync("FZ-1", account: "ACC-F");
        long accepted = 1;
        var requests = 0;

        await Gen.Select(Gen.Int[0, Paths.Length - 1], Body, Gen.Bool).SampleAsync(async (pathIndex, body, ndjson) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, Paths[pathIndex]) { Content = new ByteArrayContent(body) };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", ndjson && pathIndex == 1 ? "application/x-ndjson" : "application/json");
            using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
            var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Interlocked.Increment(ref requests);
            Assert.True((int)response.StatusCode < 500, $"{Paths[pathIndex]} {Convert.ToBase64String(body)} -> {(int)response.StatusCode} {text}");
            if (response.IsSuccessStatusCode && Paths[pathIndex] != "/v1/query")
            {
                var written = pathIndex == 1 ? System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("succeeded").GetInt64() : 1;
                // A replay through an idempotency key writes nothing; generated bodies carry none.
                Interlocked.Add(ref accepted, written);
            }
        }, iter: 10_000, threads: 2);

        var events = await client.PostAsync("/v1/query", """{"sql":"SELECT count(*) FROM trade_events"}""");
        Assert.True(requests >= 10_000);
        Assert.Equal(accepted, events.Body.GetProperty("rows")[0][0].GetInt64());
    }
}
