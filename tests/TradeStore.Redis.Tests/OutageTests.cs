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
        using var journal = new TestJournal(dir.DatabasePath);
        await using var connection = new RedisConnection(redis.Options());
        using var projector = new RedisProjector(connection, journal.Database, redis.Options(maxBatchSize: 50), Microsoft.Extensions.Logging.Abstractions.NullLogger<RedisProjector>.Instance);
        var health = new RedisHealthCheck(connection, redis.Options(), projector);
        journal.Observers.Add(projector);
        await projector.StartAsync(Ct);
        var mix = new CommandMix(seed: 21, idPrefix: "O");

        var committed = 0;
        for (var i = 0; i < 30; i++)
        {
            committed += journal.Commit(mix.Batch(journal.States, 10)).Count;
        }

        await ProjectorTests.WaitForCheckpointAsync(redis, journal.LastSeq);
        server.Kill();
        for (var i = 0; i < 60; i++)
        {
            committed += journal.Commit(mix.Batch(journal.States, 10)).Count;
        }

        var degraded = await CheckAsync(health);
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.True(projector.Status.LagEvents > 0, $"lag {projector.Status.LagEvents}");

        await server.StartAsync();
        for (var i = 0; i < 20; i++)
        {
            committed += journal.Commit(mix.Batch(journal.States, 10)).Count;
        }

        await ProjectorTests.WaitForCheckpointAsync(redis, journal.LastSeq, TimeSpan.FromSeconds(60));
        await projector.StopAsync(Ct);

        Assert.Equal(journal.LastSeq, committed);
        var report = await new RedisVerifier(redis.Keys).VerifyAsync(redis.Database, ProjectionSnapshot.Read(journal.Database), Ct);
        Assert.True(report.IsClean, string.Join("\n", report.Differences));
        var ids = (await redis.Database.StreamRangeAsync(redis.Keys.Stream)).Select(e => RedisFormat.SeqOfStreamId((string)e.Id!)).ToList();
        Assert.Equal(Enumerable.Range(1, committed).Select(i => (long)i), ids);
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(health)).Status);
    }

    private static Task<HealthCheckResult> CheckAsync(RedisHealthCheck health) => health.CheckHealthAsync(new HealthCheckContext
    {
        Registration = new HealthCheckRegistration("redis", health, HealthStatus.Degraded, null),
    }, Ct);
}
