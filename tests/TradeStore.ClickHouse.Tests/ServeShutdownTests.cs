using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using TradeStore.ClickHouse.Tests.Support;
using TradeStore.Core.Trades;
using TradeStore.Server;
using TradeStore.Server.Configuration;
using TradeStore.Storage;
using TradeStore.Storage.Journal;
using TradeStore.TestSupport;

namespace TradeStore.ClickHouse.Tests;

public sealed class ServeShutdownTests
{
    [Fact]
    public async Task Stop_WithQueuedCommands_EngineDrainsAndClickHouseGetsEveryEvent()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("shutdown");
        using var data = new TempDirectory("shutdown");
        var configuration = TradeStoreConfiguration.Build(new ConfigurationInputs
        {
            BaseDirectory = data.Path,
            WorkingDirectory = data.Path,
            Environment = new Dictionary<string, string>
            {
                ["TRADESTORE__STORAGE__DATADIRECTORY"] = data.Path,
                ["TRADESTORE__CLICKHOUSE__URL"] = ch.Url,
                ["TRADESTORE__CLICKHOUSE__DATABASE"] = ch.Name,
                // A long interval: without the shutdown flush, the last commits would wait for the next start.
                ["TRADESTORE__CLICKHOUSE__SYNC__FLUSHINTERVAL"] = "00:00:30",
                ["TRADESTORE__CLICKHOUSE__SYNC__BATCHMIN"] = "100000",
                ["TRADESTORE__CLICKHOUSE__SYNC__BATCHMAX"] = "100000",
            },
        });
        var app = TradeStoreHost.Build(configuration, builder => builder.WebHost.UseTestServer());
        await app.StartAsync(TestContext.Current.CancellationToken);
        var commands = app.Services.GetRequiredService<ITradeCommands>();
        await TradeWorkload.SubmitAsync(commands, [new CreateTrade("first", "acc", "SYM", Side.Buy, 1m, 1m)]);
        var sync = app.Services.GetRequiredService<Sync.ClickHouseSyncState>();
        await Eventually.TrueAsync(() => sync.Snapshot().Checkpoint == 1, TimeSpan.FromSeconds(30), () => $"{sync.Snapshot()}");
        var queued = Enumerable.Range(0, 3_000).Select(i => commands.SubmitAsync(new CreateTrade($"s-{i}", "acc", "SYM", Side.Sell, 2m, 3m)).AsTask()).ToList();

        await app.StopAsync(TestContext.Current.CancellationToken);
        var results = await Task.WhenAll(queued);
        await app.DisposeAsync();

        using var database = DuckDbDatabase.Open(data.DatabasePath);
        var journal = new JournalReader(database).LastSeq();
        Assert.Equal(1 + results.Count(r => r.Succeeded), journal);
        var (rows, distinct, maxSeq) = await ch.CountEventsAsync();
        Assert.Equal((journal, journal, journal), (rows, distinct, maxSeq));
        Assert.Equal(journal, new Storage.Sync.SyncCheckpoints(database).Get(Storage.Sync.SyncCheckpoints.ClickHouse));
    }
}
