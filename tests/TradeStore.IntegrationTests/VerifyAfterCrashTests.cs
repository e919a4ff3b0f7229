using System.Globalization;
using System.Net.Http.Json;
using StackExchange.Redis;
using TradeStore.Redis;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// <c>tradestore verify --redis</c> / <c>--clickhouse</c>, the check an operator runs after a crash, on a real
/// <c>tradestore serve</c> killed with SIGKILL while DuckDB is behind the journal log (its WAL lost, as a kill between
/// the log's fsync and DuckDB's apply leaves it). Redis and ClickHouse, fed from the log's durable events, hold events
/// DuckDB lacks; the next start replays them. So verify compares the stores with DuckDB plus those log records and says
/// so: the log's tail is no damage. A real difference (a key or an event that neither DuckDB nor the log holds) still is.
/// </summary>
public sealed class VerifyAfterCrashTests : IDisposable
{
    private const int SigKill = 9;
    private const int SigTerm = 15;
    private const int Trades = 30;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _work = new("verify-after-crash");
    private readonly string _url = $"http://127.0.0.1:{FreePort.Next()}";
    private readonly string _redisPrefix = $"verify:{Guid.NewGuid():N}:";
    private readonly string _clickHouseDatabase = $"verify_{Guid.NewGuid():N}";

    public void Dispose()
    {
        Http.Dispose();
        _work.Dispose();
    }

    private HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

    private string Wal => _work.DatabasePath + ".wal";

    [Fact]
    public async Task VerifyRedis_AfterKillWithDuckDbBehindTheLog_ComparesWithTheLogsTailAndIsClean()
    {
        var environment = RedisEnvironment();
        await CrashWithDuckDbBehindTheLogAsync(environment);

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["verify", "--redis", "--data", _work.Path], _work.Path, environment);

        Assert.True(exitCode == 0, $"exit code {exitCode}:\n{output}");
        var replayed = RecordsToReplay(output);
        Assert.Contains($"compared with DuckDB plus {replayed} log records to replay at start", output);
        Assert.Contains("redis: OK", output);
    }

    [Fact]
    public async Task VerifyRedis_AfterKillWithDuckDbBehindTheLog_StillReportsAKeyNeitherHolds()
    {
        var environment = RedisEnvironment();
        await CrashWithDuckDbBehindTheLogAsync(environment);
        await using (var redis = await ConnectionMultiplexer.ConnectAsync(TestServers.Redis))
        {
            await redis.GetDatabase().HashSetAsync(new RedisKeys(_redisPrefix).Trade("GHOST-1"), "status", "new");
        }

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["verify", "--redis", "--data", _work.Path], _work.Path, environment);

        Assert.True(exitCode == 1, $"exit code {exitCode}:\n{output}");
        Assert.Contains("trade GHOST-1: ", output);
        Assert.Contains("exists in Redis but the trade is deleted or unknown in DuckDB and the journal log", output);
        Assert.Contains("redis: 1 differences", output);
        Assert.Contains($"compared with DuckDB plus {RecordsToReplay(output)} log records to replay at start", output);
    }

    [Fact]
    public async Task VerifyClickHouse_AfterKillWithDuckDbBehindTheLog_ComparesWithTheLogsTailAndIsClean()
    {
        var environment = ClickHouseEnvironment();
        await CrashWithDuckDbBehindTheLogAsync(environment);

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["verify", "--clickhouse", "--data", _work.Path], _work.Path, environment);

        Assert.True(exitCode == 0, $"exit code {exitCode}:\n{output}");
        Assert.Contains($"plus {RecordsToReplay(output)} log records to replay at start", output);
        Assert.Contains("clickhouse: OK, matches the journal", output);
    }

    [Fact]
    public async Task VerifyClickHouse_AfterKillWithDuckDbBehindTheLog_StillReportsAnEventTheLogDoesNotHold()
    {
        var environment = ClickHouseEnvironment();
        await CrashWithDuckDbBehindTheLogAsync(environment);
        // A copy of the last event under a seq past the log's end and a trade id nobody wrote.
        await ClickHouseAsync($"""
            INSERT INTO {_clickHouseDatabase}.trade_events (seq, trade_id, version, event_type, account, symbol, side, quantity, price, filled_quantity,
                filled_notional, last_quantity, last_price, status, venue, trader, executed_at_us, created_at_us, recorded_at_us, idempotency_key)
            SELECT seq + 1000, 'GHOST-CH', version, event_type, account, symbol, side, quantity, price, filled_quantity,
                filled_notional, last_quantity, last_price, status, venue, trader, executed_at_us, created_at_us, recorded_at_us, idempotency_key
            FROM {_clickHouseDatabase}.trade_events WHERE seq = (SELECT max(seq) FROM {_clickHouseDatabase}.trade_events)
            """);

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["verify", "--clickhouse", "--data", _work.Path], _work.Path, environment);

        Assert.True(exitCode == 1, $"exit code {exitCode}:\n{output}");
        Assert.Contains("clickhouse: DIFFERENCE trade GHOST-CH: in ClickHouse, not in the journal", output);
        Assert.Contains("clickhouse: DIFFERENCE trade_events max(seq): ClickHouse ", output);
        Assert.Contains("(1 more in ClickHouse than in this journal)", output);
        Assert.Contains($"plus {RecordsToReplay(output)} log records to replay at start", output);
    }

    /// <summary>
    /// A first serve writes trades and stops cleanly (DuckDB holds them); a second one amends, fills and deletes some of
    /// them and creates more, waits until Redis and ClickHouse hold every event, and is killed; then DuckDB's WAL is
    /// emptied: DuckDB is back at the first run's end, and only the log holds the second run's events.
    /// </summary>
    private async Task CrashWithDuckDbBehindTheLogAsync(Dictionary<string, string> environment)
    {
        await using (var first = await StartAsync(environment))
        {
            for (var i = 0; i < Trades; i++)
            {
                await PostAsync("/v1/trades", new { tradeId = $"A-{i}", account = $"ACC-{i % 3}", symbol = "AAPL", side = "buy", quantity = "10", price = "100.5" });
                await PostAsync($"/v1/trades/A-{i}/fill", new { quantity = "2", price = "100.25" });
            }

            first.Signal(SigTerm);
            Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        await using var second = await StartAsync(environment);
        for (var i = 0; i < Trades; i++)
        {
            await PostAsync("/v1/trades", new { tradeId = $"B-{i}", account = $"ACC-{i % 4}", symbol = "MSFT", side = "sell", quantity = "5", price = "300" });
        }

        for (var i = 0; i < Trades; i += 3)
        {
            // Each A trade is at version 2 (create, fill).
            await PostAsync($"/v1/trades/A-{i}/fill", new { quantity = "3", price = "101" });
            await PostAsync($"/v1/trades/A-{i + 1}/amend", new { expectedVersion = 2, price = "99.5" });
            using var deleted = await Http.DeleteAsync($"/v1/trades/A-{i + 2}?expectedVersion=2", TestContext.Current.CancellationToken);
            deleted.EnsureSuccessStatusCode();
        }

        await WaitUntilDerivedStoresCaughtUpAsync();
        second.Signal(SigKill);
        await second.WaitForExitAsync(TimeSpan.FromSeconds(30));
        // DuckDB never got (or lost) everything since its last checkpoint: a kill between the log's fsync and the apply.
        File.WriteAllBytes(Wal, []);
    }

    /// <summary>The "N records to replay at start" verify's journal log line reports; asserts the log is ahead of DuckDB.</summary>
    private static long RecordsToReplay(string verifyOutput)
    {
        var match = System.Text.RegularExpressions.Regex.Match(verifyOutput, @"journal log: DuckDB holds up to seq \d+: (\d+) records to replay at start");
        Assert.True(match.Success, $"the log must be ahead of DuckDB:\n{verifyOutput}");
        return long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private Dictionary<string, string> RedisEnvironment() => new()
    {
        ["TRADESTORE__REDIS__CONNECTION"] = TestServers.Redis,
        ["TRADESTORE__REDIS__KEYPREFIX"] = _redisPrefix,
    };

    private Dictionary<string, string> ClickHouseEnvironment() => new()
    {
        ["TRADESTORE__CLICKHOUSE__URL"] = TestServers.ClickHouse,
        ["TRADESTORE__CLICKHOUSE__DATABASE"] = _clickHouseDatabase,
    };

    private async Task<TradeStoreProcess> StartAsync(Dictionary<string, string> environment)
    {
        Http.BaseAddress ??= new Uri(_url);
        var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", _url], _work.Path, environment);
        await child.WaitUntilAnsweringAsync($"{_url}/health/ready", Patience);
        return child;
    }

    private async Task PostAsync(string path, object body)
    {
        using var response = await Http.PostAsJsonAsync(path, body, TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
    }

    private static async Task ClickHouseAsync(string sql)
    {
        using var client = new HttpClient();
        using var content = new StringContent(sql);
        using var response = await client.PostAsync(TestServers.ClickHouse, content, TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    /// <summary>Polls <c>/metrics</c> until neither the Redis projector nor the ClickHouse sync (whichever runs) has an event left to apply.</summary>
    private async Task WaitUntilDerivedStoresCaughtUpAsync()
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            var text = await Http.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
            if (Gauge(text, "tradestore_sync_events_behind") is null or 0 && Gauge(text, "tradestore_redis_lag_events") is null or 0
                && (Gauge(text, "tradestore_sync_events_behind") is not null || Gauge(text, "tradestore_redis_lag_events") is not null))
            {
                return;
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException($"Redis or ClickHouse did not catch up within {Patience}");
    }

    private static double? Gauge(string metrics, string name) => metrics.Split('\n')
        .Where(line => line.StartsWith(name, StringComparison.Ordinal) && !line.StartsWith('#'))
        .Select(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture))
        .Cast<double?>()
        .FirstOrDefault();
}
