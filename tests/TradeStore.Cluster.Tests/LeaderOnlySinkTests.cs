using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;
using TradeStore.Core.Trades;
using TradeStore.Redis;
using TradeStore.Redis.Projection;
using TradeStore.Server;
using TradeStore.Server.Configuration;
using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>The Redis projection of a cluster node runs only while it leads, and catches up from its checkpoint when it starts leading.</summary>
public sealed class LeaderOnlySinkTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    [Fact]
    public async Task RedisProjection_NodeFollows_DoesNotRunThenCatchesUpFromItsCheckpointWhenTheNodeLeads()
    {
        var etcd = TestServers.Etcd;
        var redisEndpoint = TestServers.Redis;
        var keys = new RedisKeys($"cluster-{Guid.NewGuid():N}:");
        await using var other = await new ClusterNode("a", etcd, _prefix).StartAsync();
        await Eventually.TrueAsync(() => other.State.IsLeader, Timeout, "a leads");
        using var dir = new TempDirectory("cluster-sink");
        var configuration = NodeB(dir.Path, etcd, redisEndpoint, keys);
        await using var app = TradeStoreHost.Build(configuration, builder => builder.WebHost.UseTestServer());
        await app.StartAsync(Ct);
        var state = app.Services.GetRequiredService<ClusterState>();
        var gate = app.Services.GetServices<IHostedService>().OfType<LeaderOnlyService>().Single();
        Assert.IsType<RedisProjector>(gate.Inner);
        await Eventually.TrueAsync(() => state.Role == ClusterRole.Follower, Timeout, "b follows a");

        // Events in b's journal (written to its engine directly: the HTTP writes would be redirected to a).
        var commands = app.Services.GetRequiredService<ITradeCommands>();
        Assert.True((await commands.SubmitAsync(new CreateTrade("L1", "ACC", "XYZ", Side.Buy, 10m, 99.5m), Ct)).Succeeded);
        Assert.True((await commands.SubmitAsync(new FillTrade("L1", 4m, 99.25m), Ct)).Succeeded);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(redisEndpoint);
        var db = redis.GetDatabase();
        Assert.False(gate.IsRunning);
        Assert.False(await db.KeyExistsAsync(keys.Checkpoint));
        // A follower keeps none of the commits for the projection it does not run, and readiness only pings Redis.
        Assert.Equal(0, ((RedisProjector)gate.Inner).QueuedEvents);
        var ready = await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Ct);
        Assert.True(ready.Entries["redis"].Status == HealthStatus.Healthy, ready.Entries["redis"].Description);
        Assert.EndsWith(RedisHealthCheck.NotRunningHere, ready.Entries["redis"].Description);

        await other.StopAsync();
        await Eventually.TrueAsync(() => state.IsLeader, Timeout, "b leads after a stopped");
        await Eventually.TrueAsync(() => gate.IsRunning, Timeout, "the projection starts on b");
        await Eventually.MatchAsync(async () => (long?)await db.StringGetAsync(keys.Checkpoint), c => c == 2, Timeout, "Redis holds b's two events");
        Assert.Equal("4", (string?)await db.HashGetAsync(keys.Trade("L1"), "filledQuantity"));
        await app.StopAsync(Ct);
    }

    /// <summary>
    /// A follower that was stopped while the leader went on taking writes (and projecting them) starts behind Redis's
    /// checkpoint, as every returning follower does. Before, it refused to start as if its journal had lost acknowledged
    /// events (exit 5, "run tradestore recover --from redis"); now it starts, says why it is behind (event 1009), and
    /// catches up from the leader.
    /// </summary>
    [Fact]
    public async Task RedisProjection_FollowerRestartsBehindTheLeadersProjection_StartsAndCatchesUpFromTheLeader()
    {
        var keys = new RedisKeys($"cluster-{Guid.NewGuid():N}:");
        var settings = new Dictionary<string, string>
        {
            ["TRADESTORE__REDIS__CONNECTION"] = TestServers.Redis,
            ["TRADESTORE__REDIS__KEYPREFIX"] = keys.Prefix,
        };
        var wait = TimeSpan.FromSeconds(60);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
        await using var a = await NodeProcess.StartAsync("a", _prefix, settings);
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", wait, "a leads");
        await using var b = await NodeProcess.StartAsync("b", _prefix, settings);
        for (var i = 0; i < 2; i++)
        {
            using var created = await a.CreateTradeAsync(http, $"S-{i}");
            Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
        }

        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Nodes.Any(n => n.Name == "b" && n.IsLive && n.AppliedSeq == 2), wait, "b holds seq 2");
        b.Process.Signal(15);
        await b.Process.WaitForExitAsync(wait);
        for (var i = 2; i < 5; i++)
        {
            using var created = await a.CreateTradeAsync(http, $"S-{i}");
            Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
        }

        await using var redis = await ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
        await Eventually.MatchAsync(async () => (long?)await redis.GetDatabase().StringGetAsync(keys.Checkpoint), c => c == 5, wait, "Redis holds seq 5, b's journal seq 2");

        await b.RestartAsync(waitUntilAnswering: false);
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => b.Process.HasExited || s.Nodes.Any(n => n.Name == "b" && n.IsLive && n.AppliedSeq == 5), wait, "b caught up or exited");
        Assert.False(b.Process.HasExited, $"b exited with code {(b.Process.HasExited ? b.Process.ExitCode : 0)}:\n{b.Process.Output}");
        await b.Process.WaitForOutputAsync("[1009]", wait);
        using var read = await http.GetAsync($"{b.Url}/v1/trades/S-4?minSeq=5", Ct);
        Assert.Equal(System.Net.HttpStatusCode.OK, read.StatusCode);
    }

    /// <summary>
    /// A node that was stopped while the leader wrote finds Redis (written by the leader) ahead of its journal at its next
    /// start. It refused to start, for good, as if its journal had lost acknowledged events (exit 5, "redis holds events up
    /// to seq 140, but the journal ends at seq 40 … Run: tradestore recover --from redis"), though following would have
    /// caught it up. It now starts and follows; should it lead while Redis is still ahead, its projection refuses writes.
    /// </summary>
    [Fact]
    public async Task Start_RedisAheadOfTheNodesJournal_StartsAndFollowsAndRefusesWritesShouldItLeadFirst()
    {
        var etcd = TestServers.Etcd;
        var redisEndpoint = TestServers.Redis;
        var keys = new RedisKeys($"cluster-{Guid.NewGuid():N}:");
        await using var redis = await ConnectionMultiplexer.ConnectAsync(redisEndpoint);
        Assert.True(await redis.GetDatabase().StringSetAsync(keys.Checkpoint, 100)); // the leader's projection reached seq 100
        await using var other = await new ClusterNode("a", etcd, _prefix).StartAsync();
        await Eventually.TrueAsync(() => other.State.IsLeader, Timeout, "a leads");
        using var dir = new TempDirectory("cluster-sink-ahead");
        var configuration = NodeB(dir.Path, etcd, redisEndpoint, keys);

        await using var app = TradeStoreHost.Build(configuration, builder => builder.WebHost.UseTestServer());
        await app.StartAsync(Ct);
        var state = app.Services.GetRequiredService<ClusterState>();
        await Eventually.TrueAsync(() => state.Role == ClusterRole.Follower, Timeout, "b follows a");

        await other.StopAsync();
        await Eventually.TrueAsync(() => state.IsLeader, Timeout, "b leads after a stopped");
        var health = app.Services.GetRequiredService<HealthCheckService>();
        await Eventually.MatchAsync(async () => (await health.CheckHealthAsync(Ct)).Entries["duckdb"].Status, s => s == HealthStatus.Unhealthy,
            Timeout, "b's projection finds Redis ahead and refuses writes");
        var refused = await app.Services.GetRequiredService<ITradeCommands>().SubmitAsync(new CreateTrade("R1", "ACC", "XYZ", Side.Buy, 1m, 1m), Ct);
        Assert.False(refused.Succeeded);
        await app.StopAsync(Ct);
    }

    /// <summary>The configuration of node b, the in-process node these tests watch, with Redis under <paramref name="keys"/>.</summary>
    private IConfigurationRoot NodeB(string dataDirectory, string etcd, string redisEndpoint, RedisKeys keys) =>
        TradeStoreConfiguration.Build(new ConfigurationInputs
        {
            BaseDirectory = dataDirectory,
            WorkingDirectory = dataDirectory,
            Environment = new Dictionary<string, string>
            {
                ["TRADESTORE__STORAGE__DATADIRECTORY"] = dataDirectory,
                ["TRADESTORE__REDIS__CONNECTION"] = redisEndpoint,
                ["TRADESTORE__REDIS__KEYPREFIX"] = keys.Prefix,
                ["TRADESTORE__CLUSTER__ETCD"] = etcd,
                ["TRADESTORE__CLUSTER__NODE"] = "b",
                ["TRADESTORE__CLUSTER__ADVERTISEURL"] = "http://b.test:5080",
                ["TRADESTORE__CLUSTER__KEYPREFIX"] = _prefix,
                ["TRADESTORE__CLUSTER__LEASETTL"] = "00:00:05",
            },
        });
}
