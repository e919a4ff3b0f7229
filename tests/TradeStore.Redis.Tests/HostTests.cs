using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using TradeStore.Core.Trades;
using TradeStore.Server;
using TradeStore.Server.Configuration;
using TradeStore.Storage;
using TradeStore.Storage.Sync;
using TradeStore.TestSupport;
using TradeStore.Tests;

namespace TradeStore.Redis.Tests;

public sealed class HostTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Host_RedisConfigured_CommittedTradesReachRedisAndReadinessShowsProjection()
    {
        await using var redis = await RedisScope.SharedAsync(nameof(HostTests));
        using var dir = new TempDirectory("redis-host");
        var environment = new Dictionary<string, string>
        {
            ["TRADESTORE__STORAGE__DATADIRECTORY"] = dir.Path,
            ["TRADESTORE__REDIS__CONNECTION"] = redis.Endpoint,
            ["TRADESTORE__REDIS__KEYPREFIX"] = redis.Prefix,
        };
        var configuration = TradeStoreConfiguration.Build(new ConfigurationInputs { BaseDirectory = dir.Path, WorkingDirectory = dir.Path, Environment = environment });
        await using var app = TradeStoreHost.Build(configuration, builder => builder.UseLoopbackTestServer());
        await app.StartAsync(Ct);

        var commands = app.Services.GetRequiredService<ITradeCommands>();
        Assert.True((await commands.SubmitAsync(new CreateTrade("H1", "ACC", "XYZ", Side.Buy, 10m, 99.5m), Ct)).Succeeded);
        Assert.True((await commands.SubmitAsync(new FillTrade("H1", 4m, 99.25m), Ct)).Succeeded);
        await ProjectorTests.WaitForCheckpointAsync(redis, 2);

        Assert.Equal("4", (string)(await redis.Database.HashGetAsync(redis.Keys.Trade("H1"), "filledQuantity"))!);
        Assert.Equal("99.25", (string)(await redis.Database.HashGetAsync(redis.Keys.Positions("ACC"), "XYZ:avgPrice"))!);
        // The projector notes its checkpoint just after Redis has it, so readiness may lag the key by a moment.
        var body = string.Empty;
        await Eventually.TrueAsync(async () =>
        {
            using var response = await app.GetTestClient().GetAsync("/health/ready", Ct);
            body = await response.Content.ReadAsStringAsync(Ct);
            return body.Contains("projection at seq 2", StringComparison.Ordinal);
        }, describe: () => body);
        await app.StopAsync(Ct);
        Assert.Equal(2, new SyncCheckpoints(app.Services.GetRequiredService<DuckDbDatabase>()).Get(SyncCheckpoints.Redis));
    }

    [Fact]
    public async Task Host_StoppedWithCommandsQueued_RedisHoldsEverythingTheEngineDrained()
    {
        await using var redis = await RedisScope.SharedAsync("HostStop");
        using var dir = new TempDirectory("redis-host-stop");
        var environment = new Dictionary<string, string>
        {
            ["TRADESTORE__STORAGE__DATADIRECTORY"] = dir.Path,
            ["TRADESTORE__REDIS__CONNECTION"] = redis.Endpoint,
            ["TRADESTORE__REDIS__KEYPREFIX"] = redis.Prefix,
        };
        var configuration = TradeStoreConfiguration.Build(new ConfigurationInputs { BaseDirectory = dir.Path, WorkingDirectory = dir.Path, Environment = environment });
        await using var app = TradeStoreHost.Build(configuration, builder => builder.UseLoopbackTestServer());
        await app.StartAsync(Ct);
        var commands = app.Services.GetRequiredService<ITradeCommands>();

        // Queue a few batches, then stop at once: the engine commits the queue while stopping, after the projector.
        var pending = Enumerable.Range(0, 3_000)
            .Select(i => commands.SubmitAsync(new CreateTrade($"S{i}", "ACC", "XYZ", Side.Buy, 1m, 2m), Ct).AsTask())
            .ToList();
        await app.StopAsync(Ct);
        var results = await Task.WhenAll(pending);

        var committed = results.Count(r => r.Succeeded);
        Assert.True(committed > 0);
        Assert.Equal(committed, (long)(await redis.Database.StringGetAsync(redis.Keys.Checkpoint)));
    }
}
