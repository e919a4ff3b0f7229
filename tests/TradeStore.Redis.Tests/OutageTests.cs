using Microsoft.Extensions.Diagnostics.HealthChecks;
using TradeStore.Redis.Projection;
using TradeStore.TestSupport;

namespace TradeStore.Redis.Tests;

/// <summary>Kills its own redis-server; never the shared one.</summary>
public sealed class OutageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Projector_PrivateRedisKilledDuringSustainedWrites_WritesGoOnAndProjectionConverges()
    {
        PrivateRedis.RequireServer();
        using var server = new PrivateRedis();
        await server.StartAsync();
        await using var redis = await RedisScope.OnAsync(server.Endpoint, "outage:");
        using var dir = new TempDirectory("redis-outage");
        long lastSeq;
        await using (var engine = await EngineScope.StartAsync(redis, dir.DatabasePath, maxBatchSize: 50))
        {
            var health = new RedisHealthCheck(engine.Connection, redis.Options(), engine.Projector);
            var mix = new CommandMix(seed: 21, idPrefix: "O");
            for (var i = 0; i < 30; i++)
            {
                await engine.SubmitAsync(mix.Batch(engine.States, 10));
            }

            await ProjectorTests.WaitForCheckpointAsync(redis, engine.Engine.LastSeq);
            var beforeKill = engine.Engine.LastSeq;
            server.Kill();
            for (var i = 0; i < 60; i++)
            {
                await engine.SubmitAsync(mix.Batch(engine.States, 10));
            }

            Assert.True(engine.Engine.LastSeq > beforeKill);
            Assert.Equal(HealthStatus.Degraded, (await CheckAsync(health)).Status);
            Assert.True(engine.Projector.Status.LagEvents > 0, $"lag {engine.Projector.Status.LagEvents}");

            await server.StartAsync();
            for (var i = 0; i < 20; i++)
            {
                await engine.SubmitAsync(mix.Batch(engine.States, 10));
            }

            lastSeq = engine.Engine.LastSeq;
            await ProjectorTests.WaitForCheckpointAsync(redis, lastSeq, TimeSpan.FromSeconds(60));
            Assert.Empty(engine.Failures);
            Assert.Equal(HealthStatus.Healthy, (await CheckAsync(health)).Status);
        }

        using var database = Storage.DuckDbDatabase.Open(dir.DatabasePath);
        var report = await new RedisVerifier(redis.Keys).VerifyAsync(redis.Database, database, Ct);
        Assert.True(report.IsClean, string.Join("\n", report.Differences));
        var ids = (await redis.Database.StreamRangeAsync(redis.Keys.Stream)).Select(e => RedisFormat.SeqOfStreamId((string)e.Id!)).ToList();
        Assert.Equal(Enumerable.Range(1, (int)lastSeq).Select(i => (long)i), ids);
    }

    /// <summary>
    /// Sinks probe of session 24 (D6): a stopped Redis, a wrong port and a slow server all read "no answer within
    /// 1000 ms", since StackExchange.Redis queues commands while disconnected; the check now says the connection is refused.
    /// </summary>
    [Fact]
    public async Task HealthCheck_NothingListensAtThePort_DegradedSayingConnectionRefused()
    {
        var options = new TradeStore.Core.Options.RedisOptions { Connection = $"127.0.0.1:{FreePort.Next()}", HealthTimeout = TimeSpan.FromSeconds(1) };
        await using var connection = RedisConnection.Create(options);
        var health = new RedisHealthCheck(connection, Microsoft.Extensions.Options.Options.Create(options));

        var result = await CheckAsync(health);

        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Equal($"{connection.Endpoint}: not connected (Connection refused)", result.Description);
    }

    private static Task<HealthCheckResult> CheckAsync(RedisHealthCheck health) => health.CheckHealthAsync(new HealthCheckContext
    {
        Registration = new HealthCheckRegistration("redis", health, HealthStatus.Degraded, null),
    }, Ct);
}
