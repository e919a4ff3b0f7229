using System.Text.Json;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using TradeStore.ClickHouse.Sync;
using TradeStore.ClickHouse.Tests.Support;
using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;
using TradeStore.TestSupport;

namespace TradeStore.ClickHouse.Tests;

/// <summary>The real host (engine, sync daemon, readiness) against a private clickhouse-server that the test kills and restarts.</summary>
public sealed class ClickHouseOutageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Serve_ClickHouseKilledDuringWrites_WritesGoOnDegradedThenCatchesUpWithoutGapOrDuplicate()
    {
        await using var server = await PrivateClickHouseServer.StartAsync();
        await using var ch = await ClickHouseTestDatabase.CreateAsync("outage", url: server.Url);
        using var data = new TempDirectory("outage");
        await using var app = await SyncTestHost.StartAsync(data.Path, server.Url, ch.Name);
        using var http = app.GetTestClient();
        var commands = app.Services.GetRequiredService<ITradeCommands>();
        var engine = app.Services.GetRequiredService<WriteEngine>();
        var sync = app.Services.GetRequiredService<ClickHouseSyncState>();

        using var stopWriting = new CancellationTokenSource();
        var writer = Task.Run(() => WriteUntilStoppedAsync(commands, stopWriting.Token), Ct);
        await Eventually.TrueAsync(() => sync.Snapshot().Checkpoint > 200, TimeSpan.FromSeconds(30), () => $"{sync.Snapshot()}");
        Assert.Equal("healthy", await ClickHouseReadinessAsync(http));

        await server.KillAsync();
        var seqAtKill = engine.LastSeq;
        await Eventually.TrueAsync(async () => await ClickHouseReadinessAsync(http) == "degraded", TimeSpan.FromSeconds(20), () => $"{sync.Snapshot()}");
        await Eventually.TrueAsync(() => engine.LastSeq > seqAtKill + 500, TimeSpan.FromSeconds(20), () => $"journal {engine.LastSeq}");
        var during = sync.Snapshot();
        Assert.True(during.Failing);
        Assert.Equal("connection_refused", during.LastErrorKind);

        await server.RestartAsync();
        await ch.StopMergesAsync();
        var seqAtRestart = engine.LastSeq;
        await Eventually.TrueAsync(() => sync.Snapshot().Checkpoint > seqAtRestart, TimeSpan.FromSeconds(30), () => $"{sync.Snapshot()}");
        await stopWriting.CancelAsync();
        var (applied, refused) = await writer;
        await Eventually.TrueAsync(() => sync.Snapshot().Checkpoint == engine.LastSeq, TimeSpan.FromSeconds(30), () => $"{sync.Snapshot()}, journal {engine.LastSeq}");

        Assert.Equal(0, refused);
        Assert.Equal(applied, engine.LastSeq);
        var (rows, distinct, maxSeq) = await ch.CountEventsAsync();
        Assert.Equal(engine.LastSeq, maxSeq);
        Assert.Equal(engine.LastSeq, distinct);
        Assert.Equal(distinct, rows);
        Assert.Equal("healthy", await ClickHouseReadinessAsync(http));
    }

    [Fact]
    public async Task Sync_ClickHouseBackWhileBackoffIsLong_ResumesWhenItAnswersNotWhenTheBackoffEnds()
    {
        await using var server = await PrivateClickHouseServer.StartAsync();
        await using var ch = await ClickHouseTestDatabase.CreateAsync("backoff", url: server.Url);
        using var data = new TempDirectory("backoff");
        // One failure backs off 5-10 min: a sync that resumes within the 60 s wait below was woken by the probe, not by the
        // backoff's end (no stopwatch: on a loaded machine the probe's 0.5 s steps may take several seconds each).
        await using var app = await SyncTestHost.StartAsync(data.Path, server.Url, ch.Name, backoffMin: "00:10:00", backoffMax: "00:10:00");
        var commands = app.Services.GetRequiredService<ITradeCommands>();
        var engine = app.Services.GetRequiredService<WriteEngine>();
        var sync = app.Services.GetRequiredService<ClickHouseSyncState>();
        Assert.True((await commands.SubmitAsync(new CreateTrade("b-1", "acc-1", "AAPL", Side.Buy, 1m, 10m), Ct)).Succeeded);
        await Eventually.TrueAsync(() => sync.Snapshot().Checkpoint == engine.LastSeq, TimeSpan.FromSeconds(30), () => $"{sync.Snapshot()}");

        await server.KillAsync();
        Assert.True((await commands.SubmitAsync(new CreateTrade("b-2", "acc-1", "AAPL", Side.Buy, 1m, 10m), Ct)).Succeeded);
        await Eventually.TrueAsync(() => sync.Snapshot().Failing, TimeSpan.FromSeconds(30), () => $"{sync.Snapshot()}");
        await server.RestartAsync();
        // Without the probe the sync waits out the rest of a 5-10 min backoff; with it, about one probe interval.
        await Eventually.TrueAsync(() => sync.Snapshot().Checkpoint == engine.LastSeq, TimeSpan.FromSeconds(60),
            () => $"not resumed within 60 s of ClickHouse answering again, in a backoff of 5-10 min: {sync.Snapshot()}");
        var (_, distinct, maxSeq) = await ch.CountEventsAsync();
        Assert.Equal(2, distinct);
        Assert.Equal(2, maxSeq);
    }

    private static async Task<(long Applied, long Refused)> WriteUntilStoppedAsync(ITradeCommands commands, CancellationToken stop)
    {
        long applied = 0, refused = 0, i = 0;
        while (!stop.IsCancellationRequested)
        {
            var batch = Enumerable.Range(0, 20).Select(_ => new CreateTrade($"o-{i++:D7}", "acc-1", "AAPL", Side.Buy, 10.5m, 187.12345678m));
            var results = await Task.WhenAll(batch.Select(c => commands.SubmitAsync(c, CancellationToken.None).AsTask()));
            applied += results.Count(r => r.Succeeded);
            refused += results.Count(r => !r.Succeeded);
            await Task.Delay(5, CancellationToken.None);
        }

        return (applied, refused);
    }

    private static async Task<string?> ClickHouseReadinessAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/health/ready", Ct);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return body.RootElement.GetProperty("dependencies").GetProperty("clickhouse").GetProperty("status").GetString();
    }
}
