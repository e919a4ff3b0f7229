using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using TradeStore.ClickHouse.Sync;
using TradeStore.ClickHouse.Tests.Support;
using TradeStore.Core.Trades;
using TradeStore.TestSupport;

namespace TradeStore.ClickHouse.Tests;

/// <summary>
/// The real host started again while ClickHouse is away: until ClickHouse answers, the sync's figures count from DuckDB's
/// copy of the checkpoint and the journal's end (exploratory report 17, defects 1 and 2: it read 0 behind, then the whole
/// journal after the next write, and no metric gave the waiting events' age).
/// </summary>
public sealed class RestartWhileClickHouseDownTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Restart_ClickHouseStillDown_BehindAgeReadinessAndSyncStatusCountFromTheCheckpointMirror()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("restartdown");
        using var data = new TempDirectory("restartdown");
        using var closed = new RefusingPort();
        var down = $"http://127.0.0.1:{closed.Port}";

        // ClickHouse up: three trades reach it, and the stop records checkpoint 3 in DuckDB.
        await using (var first = await SyncTestHost.StartAsync(data.Path, ch.Url, ch.Name))
        {
            await SubmitAsync(first, "r-1", "r-2", "r-3");
            var sync = first.Services.GetRequiredService<ClickHouseSyncState>();
            await Eventually.TrueAsync(() => sync.Snapshot().Checkpoint == 3, TimeSpan.FromSeconds(30), () => $"{sync.Snapshot()}");
            await first.StopAsync(Ct);
        }

        // ClickHouse away: two more trades stay in the journal only.
        await using (var second = await SyncTestHost.StartAsync(data.Path, down, ch.Name))
        {
            await SubmitAsync(second, "r-4", "r-5");
            await second.StopAsync(Ct);
        }

        // Started again, ClickHouse still away, nothing written yet.
        await using var app = await SyncTestHost.StartAsync(data.Path, down, ch.Name);
        using var http = app.GetTestClient();
        var state = app.Services.GetRequiredService<ClickHouseSyncState>();
        await Eventually.TrueAsync(() => state.Snapshot().Failing, TimeSpan.FromSeconds(30), () => $"{state.Snapshot()}");

        var status = state.Snapshot();
        Assert.Equal((3L, SyncStatus.FromDuckDb, 5L, 2L), (status.Checkpoint, status.CheckpointSource, status.JournalLastSeq, status.EventsBehind));
        Assert.True(status.LagSeconds > 0, $"{status}");
        var metrics = await MetricsAsync(http);
        Assert.Equal(2, metrics["tradestore_sync_events_behind"]);
        var ageBefore = metrics["tradestore_sync_pending_age_seconds"];
        Assert.True(ageBefore > 0, $"pending age {ageBefore}");
        var readiness = await ClickHouseReadinessAsync(http);
        Assert.Contains("sync at seq 3 (DuckDB's copy of the checkpoint: ClickHouse not read since the start), 2 behind", readiness);

        var syncStatus = await TradeStoreProcess.RunAsync(["sync", "status", "--data", data.Path], data.Path, new Dictionary<string, string>
        {
            ["TRADESTORE__CLICKHOUSE__URL"] = down,
            ["TRADESTORE__CLICKHOUSE__DATABASE"] = ch.Name,
        });
        Assert.Equal(1, syncStatus.ExitCode);
        Assert.Contains("DuckDB's copy of the checkpoint: the daemon has not read ClickHouse since it started", syncStatus.Output);
        Assert.Contains("checkpoint        3 (from the daemon's status", syncStatus.Output);
        Assert.Contains("journal last seq  5", syncStatus.Output);
        Assert.Contains("events behind     2", syncStatus.Output);

        // One more write: three behind (not the whole journal), and the oldest waiting event is still seq 4.
        await SubmitAsync(app, "r-6");
        await Eventually.TrueAsync(() => state.Snapshot().JournalLastSeq == 6, TimeSpan.FromSeconds(30), () => $"{state.Snapshot()}");
        Assert.Equal(3, state.Snapshot().EventsBehind);
        var after = await MetricsAsync(http);
        Assert.Equal(3, after["tradestore_sync_events_behind"]);
        Assert.True(after["tradestore_sync_pending_age_seconds"] >= ageBefore, $"pending age {after["tradestore_sync_pending_age_seconds"]} after {ageBefore}");
    }

    private static Task SubmitAsync(WebApplication app, params string[] tradeIds) =>
        TradeWorkload.SubmitAsync(app.Services.GetRequiredService<ITradeCommands>(), [.. tradeIds.Select(id => new CreateTrade(id, "acc-1", "AAPL", Side.Buy, 1m, 10m))]);

    /// <summary>The unlabelled TradeStore gauges of one scrape of <c>GET /metrics</c>, by exported name.</summary>
    private static async Task<Dictionary<string, double>> MetricsAsync(HttpClient http)
    {
        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), Ct);
        return PrometheusText.Parse(text).Values
            .Where(f => f.Type == "gauge" && f.Name.StartsWith("tradestore_sync_", StringComparison.Ordinal))
            .ToDictionary(f => f.Name, f => Assert.Single(f.Samples).Value);
    }

    private static async Task<string> ClickHouseReadinessAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/health/ready", Ct);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return body.RootElement.GetProperty("dependencies").GetProperty("clickhouse").GetProperty("description").GetString()!;
    }
}
