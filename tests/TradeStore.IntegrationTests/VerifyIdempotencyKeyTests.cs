using System.Net.Http.Json;
using TradeStore.Storage;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// <c>tradestore verify</c> looks for an idempotency key applied twice: two journal events with the same stored key within
/// <c>Engine:IdempotencyKeyRetention</c>, a retry that took effect again, which exactly-once must prevent. It did not look.
/// </summary>
public sealed class VerifyIdempotencyKeyTests : IDisposable
{
    private readonly TempDirectory _work = new("verify-keys");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task Verify_SameStoredKeyOnTwoFillsPlantedInDuckDb_ExitsOneNamingKeyAndBothSeqs()
    {
        await ServeSession.RunAsync(_work.Path, async url =>
        {
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            await SendAsync(http, "/v1/trades", new { tradeId = "K-1", account = "ACC-1", symbol = "AAPL", side = "buy", quantity = "10", price = "100.5" }, "create-1");
            await SendAsync(http, "/v1/trades/K-1/fill", new { quantity = "2", price = "100.5" }, "fill-1");
            await SendAsync(http, "/v1/trades/K-1/fill", new { quantity = "2", price = "100.5" }, "fill-2");
        });

        var (cleanExit, clean) = await TradeStoreProcess.RunAsync(["verify", "--data", _work.Path], _work.Path);
        Assert.True(cleanExit == 0, $"exit code {cleanExit}:\n{clean}");
        Assert.Contains("idempotency: OK, no key applied twice within Engine:IdempotencyKeyRetention (1.00:00:00) among 3 events with a key", clean);

        // The second fill carries the first one's stored key, as a retry that was applied again would have written it.
        using (var database = DuckDbDatabase.Open(_work.DatabasePath))
        using (var connection = database.OpenConnection())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "UPDATE trade_events SET idempotency_key = (SELECT idempotency_key FROM trade_events WHERE seq = 2) WHERE seq = 3";
            Assert.Equal(1, command.ExecuteNonQuery());
            database.Checkpoint();
        }

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["verify", "--data", _work.Path], _work.Path);

        Assert.True(exitCode == 1, $"exit code {exitCode}:\n{output}");
        Assert.Contains("idempotency: 1 key(s) applied twice within Engine:IdempotencyKeyRetention (1.00:00:00) among 3 events with a key", output);
        Assert.Matches(@"idempotency:   key 'fill-1' \(caller anonymous\): seq 2 \(fill K-1 v2\) and seq 3 \(fill K-1 v3\), [0-9.]+ s apart", output);
        Assert.Contains("duckdb: integrity check: 3 events, 1 trades, state compared for all trades", output); // the rest of the journal is sound

        // A key sent again after the retention is a new request by design: with a retention shorter than the pair's distance, no finding.
        using (var database = DuckDbDatabase.Open(_work.DatabasePath))
        using (var connection = database.OpenConnection())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "UPDATE trade_events SET recorded_at = recorded_at + INTERVAL 2 MINUTE WHERE seq = 3";
            command.ExecuteNonQuery();
            command.CommandText = "UPDATE trade_state SET updated_at = updated_at + INTERVAL 2 MINUTE WHERE trade_id = 'K-1'";
            command.ExecuteNonQuery();
            database.Checkpoint();
        }

        var (laterExit, later) = await TradeStoreProcess.RunAsync(["verify", "--data", _work.Path], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__ENGINE__IDEMPOTENCYKEYRETENTION"] = "00:01:00" });
        Assert.Contains("idempotency: OK, no key applied twice within Engine:IdempotencyKeyRetention (00:01:00) among 3 events with a key", later);
    }

    private static async Task SendAsync(HttpClient http, string path, object body, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key);
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
    }
}
