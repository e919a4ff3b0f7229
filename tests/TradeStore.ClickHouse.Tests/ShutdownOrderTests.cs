using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TradeStore.ClickHouse.Tests.Support;
using TradeStore.Core.Trades;
using TradeStore.Server;
using TradeStore.Server.Configuration;
using TradeStore.Storage;
using TradeStore.Storage.Journal;
using TradeStore.Storage.Sync;
using TradeStore.TestSupport;

namespace TradeStore.ClickHouse.Tests;

/// <summary>
/// The shutdown coordinator's order with every adapter configured (real DuckDB, Redis and ClickHouse): stop
/// accepting, drain the engine, flush the sinks, checkpoint, close; and what that order is for: commands still
/// queued at the stop reach both sinks before the database is checkpointed.
/// </summary>
public sealed class ShutdownOrderTests
{
    private const int StepDoneEventId = 1010;
    private const int StepFailedEventId = 1011;

    [Fact]
    public async Task Stop_RedisAndClickHouseConfigured_StopsAcceptingDrainsFlushesSinksCheckpointsThenCloses()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var ch = await ClickHouseTestDatabase.CreateAsync("shutdown_order");
        using var data = new TempDirectory("shutdown-order");
        var configuration = TradeStoreConfiguration.Build(new ConfigurationInputs
        {
            BaseDirectory = data.Path,
            WorkingDirectory = data.Path,
            Environment = new Dictionary<string, string>
            {
                ["TRADESTORE__STORAGE__DATADIRECTORY"] = data.Path,
                ["TRADESTORE__REDIS__CONNECTION"] = TestServers.Redis,
                ["TRADESTORE__REDIS__KEYPREFIX"] = $"shutdown-order-{Guid.NewGuid():N}:",
                ["TRADESTORE__CLICKHOUSE__URL"] = ch.Url,
                ["TRADESTORE__CLICKHOUSE__DATABASE"] = ch.Name,
                // A long interval: only the shutdown flush can send the last commits.
                ["TRADESTORE__CLICKHOUSE__SYNC__FLUSHINTERVAL"] = "00:00:30",
                ["TRADESTORE__CLICKHOUSE__SYNC__BATCHMIN"] = "100000",
                ["TRADESTORE__CLICKHOUSE__SYNC__BATCHMAX"] = "100000",
            },
        });
        await using var app = TradeStoreHost.Build(configuration, builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Logging.AddFakeLogging();
        });
        await app.StartAsync(ct);
        var commands = app.Services.GetRequiredService<ITradeCommands>();
        var queued = Enumerable.Range(0, 2_000).Select(i => commands.SubmitAsync(new CreateTrade($"o-{i}", "acc", "SYM", Side.Buy, 1m, 2m)).AsTask()).ToList();

        await app.StopAsync(ct);
        var results = await Task.WhenAll(queued);

        var logs = app.Services.GetFakeLogCollector().GetSnapshot();
        Assert.DoesNotContain(logs, record => record.Id.Id == StepFailedEventId);
        // The two sinks flush together, so their two lines come in either order.
        var steps = logs.Where(record => record.Id.Id == StepDoneEventId)
            .Select(record => $"{record.GetStructuredStateValue("Stage")}: {record.GetStructuredStateValue("Step")}")
            .ToList();
        Assert.Equal(
        [
            "StopAccepting: http server",
            "DrainEngine: write engine",
            "FlushSinks",
            "FlushSinks",
            "Checkpoint: duckdb checkpoint",
            "Close: redis connection",
        ], steps.Select(step => step.StartsWith("FlushSinks", StringComparison.Ordinal) ? "FlushSinks" : step));
        Assert.Equal(["FlushSinks: clickhouse sync", "FlushSinks: redis projection"], steps.Where(step => step.StartsWith("FlushSinks", StringComparison.Ordinal)).Order());

        // What the order buys: every command the engine drained while stopping is in both sinks, and their
        // checkpoints were written before the final checkpoint.
        var database = app.Services.GetRequiredService<DuckDbDatabase>();
        var journal = new JournalReader(database).LastSeq();
        Assert.True(results.Count(r => r.Succeeded) > 0);
        Assert.Equal(results.Count(r => r.Succeeded), journal);
        var checkpoints = new SyncCheckpoints(database);
        Assert.Equal(journal, checkpoints.Get(SyncCheckpoints.Redis));
        Assert.Equal(journal, checkpoints.Get(SyncCheckpoints.ClickHouse));
        var (rows, _, maxSeq) = await ch.CountEventsAsync();
        Assert.Equal((journal, journal), (rows, maxSeq));
    }
}
