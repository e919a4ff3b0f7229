using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Testing;
using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Redis.Projection;
using TradeStore.Storage;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Journal;
using TradeStore.Storage.Migrations;
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
    /// A Redis that stops answering but keeps its connections (SIGSTOP here; a frozen host, a partition that drops packets)
    /// when serve stops. Closing the connection, the last step of the stop after every flush, waited for its goodbye QUIT
    /// up to the multiplexer's timeout (5 s by default: serve's stop took 13.1 s with Redis and ClickHouse frozen, past
    /// Server:ShutdownTimeout); here that timeout is 10 minutes, so the old close outlasts the test's patience.
    /// </summary>
    [Fact]
    public async Task Dispose_RedisStoppedAnswering_ReturnsWithoutWaitingForIt()
    {
        PrivateRedis.RequireServer();
        using var server = new PrivateRedis();
        await server.StartAsync();
        var connection = RedisConnection.Create(new RedisOptions { Connection = $"{server.Endpoint},syncTimeout=600000,asyncTimeout=600000" });
        Assert.True(await (await connection.GetDatabaseAsync()).PingAsync() >= TimeSpan.Zero);
        server.Pause();

        await connection.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60), Ct);
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

    /// <summary>
    /// A Redis that accepts TCP but refuses the password (requirepass set, Redis:Password wrong or unset): readiness read
    /// "no answer within 1000 ms", as for a slow server, and sent the operator after the network (sink audit). It now
    /// names the refused credentials and the setting.
    /// </summary>
    [Theory]
    [InlineData("wrong")]
    [InlineData(null)]
    public async Task HealthCheck_RedisRefusesThePassword_DegradedNamingTheCredentials(string? password)
    {
        PrivateRedis.RequireServer();
        using var server = new PrivateRedis();
        await server.StartAsync();
        await RedisCliAsync(server, "CONFIG", "SET", "requirepass", "s3cret");

        var options = new RedisOptions { Connection = server.Endpoint, Password = password, HealthTimeout = TimeSpan.FromSeconds(1) };
        await using var connection = RedisConnection.Create(options);
        var health = new RedisHealthCheck(connection, Microsoft.Extensions.Options.Options.Create(options));

        var result = default(HealthCheckResult);
        await Eventually.TrueAsync(async () => (result = await CheckAsync(health)).Description?.Contains("refused the credentials", StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(20), () => result.Description ?? "");
        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.StartsWith($"{connection.Endpoint}: not connected (Redis refused the credentials (check Redis:Password): ", result.Description);
    }

    /// <summary>
    /// A projector stopped while Redis refuses connections: the final flush says in one line why it did not finish, and
    /// the stop does not call a checkpoint it never read "seq -1". Regression: event 3007 carried a TaskCanceledException
    /// and its stack, and 3006 read "Redis projection stopped at seq -1 (journal at 0)".
    /// </summary>
    [Fact]
    public async Task Stop_RedisNeverReached_SaysWhyInOneLineWithoutAnUnknownSeq()
    {
        using var refusing = new RefusingPort();
        var options = new RedisOptions { Connection = $"127.0.0.1:{refusing.Port}" };
        await using var connection = RedisConnection.Create(options);
        using var dir = new TempDirectory("redis-unreached");
        using var database = DuckDbDatabase.Open(dir.DatabasePath);
        DuckDbSchema.MigrateToLatest(database);
        using var meters = new TestMeters();
        var logger = new FakeLogger<RedisProjector>();
        var published = new PublishedJournal(database);
        var projector = new RedisProjector(connection, database, published, Microsoft.Extensions.Options.Options.Create(options),
            new RedisMetrics(meters.Factory), logger);
        await using (var engine = new WriteEngine(database, new StateIndex(), new EngineOptions(), meters.Factory, [projector]) { Published = published })
        {
            engine.Start();
            await projector.StartAsync(Ct);
            var created = await engine.SubmitAsync(new CreateTrade("U-1", "acc", "SYM", Side.Buy, 1m, 1m), Ct);
            Assert.NotNull(created.Trade);

            await projector.StopAsync(CancellationToken.None);
        }

        var flush = Assert.Single(logger.Collector.GetSnapshot(), record => record.Id.Id == 3007);
        Assert.Equal($"Final Redis flush at shutdown did not finish: Redis at {connection.Endpoint}: not connected (Connection refused); " +
            "the projection catches up at the next start", flush.Message);
        Assert.Null(flush.Exception);
        Assert.Empty(logger.Messages(3006));
        Assert.Equal("Redis projection stopped without having reached Redis (journal at 1); it catches up at the next start", Assert.Single(logger.Messages(3008)));
    }

    /// <summary>
    /// A restart while Redis is away (stopped, or refusing the password): the lag counts from DuckDB's copy of Redis's
    /// checkpoint, as the ClickHouse sync's does. Seen in the sink audit: tradestore_redis_lag_events read 0 after the
    /// start, then 108,211 (the whole journal) after 10 trades were written, and readiness said the same.
    /// </summary>
    [Fact]
    public async Task Start_RedisAway_LagCountsFromDuckDbsCopyOfTheCheckpoint()
    {
        using var refusing = new RefusingPort();
        var options = new RedisOptions { Connection = $"127.0.0.1:{refusing.Port}" };
        await using var connection = RedisConnection.Create(options);
        using var dir = new TempDirectory("redis-away-start");
        using var database = DuckDbDatabase.Open(dir.DatabasePath);
        DuckDbSchema.MigrateToLatest(database);
        using var meters = new TestMeters();
        var logger = new FakeLogger<RedisProjector>();
        var published = new PublishedJournal(database);
        var projector = new RedisProjector(connection, database, published, Microsoft.Extensions.Options.Options.Create(options),
            new RedisMetrics(meters.Factory), logger);
        await using (var engine = new WriteEngine(database, new StateIndex(), new EngineOptions(), meters.Factory, [projector]) { Published = published })
        {
            engine.Start();
            for (var i = 0; i < 100; i++)
            {
                Assert.NotNull((await engine.SubmitAsync(new CreateTrade($"A-{i}", "acc", "SYM", Side.Buy, 1m, 1m), Ct)).Trade);
            }

            // The previous run's projection had reached seq 90 before the restart.
            new Storage.Sync.SyncCheckpoints(database).Set(Storage.Sync.SyncCheckpoints.Redis, 90);

            await projector.StartAsync(Ct);
            await Eventually.TrueAsync(() => projector.Status.LagEvents == 10, TimeSpan.FromSeconds(10),
                () => $"lag {projector.Status.LagEvents} events, expected 10");
            Assert.True(projector.Status.FromDuckDbCopy);

            for (var i = 0; i < 5; i++)
            {
                Assert.NotNull((await engine.SubmitAsync(new CreateTrade($"B-{i}", "acc", "SYM", Side.Buy, 1m, 1m), Ct)).Trade);
            }

            // The engine hands a batch to the projector when it publishes it, just after the acknowledgement: wait for it
            // (asserted at once, this read 11 instead of 15 once in a busy run).
            await Eventually.TrueAsync(() => projector.Status.LagEvents == 15, TimeSpan.FromSeconds(10),
                () => $"lag {projector.Status.LagEvents} events, expected 15");
            var health = await CheckAsync(new RedisHealthCheck(connection, Microsoft.Extensions.Options.Options.Create(options), projector));
            Assert.Equal(HealthStatus.Degraded, health.Status);
            Assert.Equal($"{connection.Endpoint}: not connected (Connection refused); projection 15 events behind the journal " +
                "(from DuckDB's copy of its checkpoint, seq 90: Redis not read since the start), writes continue", health.Description);

            await projector.StopAsync(CancellationToken.None);
        }

        // Still never reached: the stop does not claim Redis stood at the copy.
        Assert.Empty(logger.Messages(3006));
        Assert.Single(logger.Messages(3008));
    }

    /// <summary>
    /// A Redis that refuses every write for a while (maxmemory reached: OOM command not allowed): the sink audit saw,
    /// every 5 s, event 3000 "catching up" again and event 3002 with a 3 KB stack. Now 3000 is logged once per catch-up,
    /// the stack comes with the first failure only, and each later 3002 is one line with the reason. Since the log audit of
    /// session 37 the retries are paced too (each was a line, every 5 to 10 s for as long as Redis was away): 3002 at the
    /// 1st, 2nd, 4th, 8th, … attempt and then once a minute, and event 3011 says when Redis takes writes again.
    /// </summary>
    [Fact]
    public async Task Projector_RedisRefusesWritesForAWhile_LogsCatchUpOnceAndTheStackOnce()
    {
        PrivateRedis.RequireServer();
        using var server = new PrivateRedis();
        await server.StartAsync();
        await RedisCliAsync(server, "CONFIG", "SET", "maxmemory", "1");
        await using var redis = await RedisScope.OnAsync(server.Endpoint, "oom:");
        using var dir = new TempDirectory("redis-oom");
        using var database = DuckDbDatabase.Open(dir.DatabasePath);
        DuckDbSchema.MigrateToLatest(database);
        using var meters = new TestMeters();
        var logger = new FakeLogger<RedisProjector>();
        var published = new PublishedJournal(database);
        await using var connection = redis.Connection();
        var projector = new RedisProjector(connection, database, published, redis.Options(maxBatchSize: 10), new RedisMetrics(meters.Factory), logger);
        await using (var engine = new WriteEngine(database, new StateIndex(), new EngineOptions(), meters.Factory, [projector]) { Published = published })
        {
            engine.Start();
            for (var i = 0; i < 50; i++)
            {
                Assert.NotNull((await engine.SubmitAsync(new CreateTrade($"M-{i}", "acc", "SYM", Side.Buy, 1m, 1m), Ct)).Trade);
            }

            await projector.StartAsync(Ct);
            // Retries back off to 300 ms (the test options): attempt 32 comes within about 10 s.
            await Eventually.TrueAsync(() => logger.Messages(3002).Any(m => m.Contains(", retry 32 in ", StringComparison.Ordinal)), TimeSpan.FromSeconds(60),
                () => $"{logger.Messages(3002).Count()} failures logged: {string.Join(" | ", logger.Messages(3002))}");
            await RedisCliAsync(server, "CONFIG", "SET", "maxmemory", "0");
            await ProjectorTests.WaitForCheckpointAsync(redis, engine.LastSeq, TimeSpan.FromSeconds(30));
            await projector.StopAsync(CancellationToken.None);
        }

        var failures = logger.Collector.GetSnapshot().Where(r => r.Id.Id == 3002).ToList();
        Assert.NotNull(failures[0].Exception);
        Assert.All(failures.Skip(1), r => Assert.Null(r.Exception));
        Assert.All(failures, r => Assert.Contains(": OOM command not allowed when used memory > 'maxmemory'", r.Message));
        // Attempts 1, 2, 4, 8, 16, 32, and one more only if a minute passed between two of them.
        Assert.InRange(failures.Count, 6, 8);
        // Durations as the other log lines write them (Durations.Format): until 2026-12-05 .NET's 00:00:00.3000000.
        Assert.All(failures, r => Assert.Matches(@", retry \d+ in \d+(\.\d+)?(ms|s|m): ", r.Message));
        Assert.Matches(@"^Redis projection reaches Redis again after \d+ failed attempt\(s\) over \d+(\.\d+)?(ms|s|m); applied through seq \d+$", Assert.Single(logger.Messages(3011)));
        Assert.Single(logger.Messages(3000));
        Assert.Single(logger.Messages(3001));
    }

    /// <summary>
    /// Redis emptied under a running projection (FLUSHALL, a restart without persistence): it is refilled from the
    /// journal, and now says so as a warning naming both checkpoints (event 3010). The sink audit saw only the info line
    /// "catching up from seq 0", the same as after any outage.
    /// </summary>
    [Fact]
    public async Task Projector_RedisEmptied_RefillsAndWarnsNamingBothCheckpoints()
    {
        await using var redis = await RedisScope.SharedAsync(nameof(OutageTests));
        using var dir = new TempDirectory("redis-emptied");
        using var database = DuckDbDatabase.Open(dir.DatabasePath);
        DuckDbSchema.MigrateToLatest(database);
        using var meters = new TestMeters();
        var logger = new FakeLogger<RedisProjector>();
        var published = new PublishedJournal(database);
        await using var connection = redis.Connection();
        var projector = new RedisProjector(connection, database, published, redis.Options(), new RedisMetrics(meters.Factory), logger);
        await using (var engine = new WriteEngine(database, new StateIndex(), new EngineOptions(), meters.Factory, [projector]) { Published = published })
        {
            engine.Start();
            await projector.StartAsync(Ct);
            for (var i = 0; i < 30; i++)
            {
                Assert.NotNull((await engine.SubmitAsync(new CreateTrade($"E-{i}", "acc", "SYM", Side.Buy, 1m, 1m), Ct)).Trade);
            }

            await ProjectorTests.WaitForCheckpointAsync(redis, 30);
            Assert.Empty(logger.Messages(3010));

            await redis.DeleteAllAsync();
            await Eventually.TrueAsync(async () => (await redis.KeysAsync()).Count > 0, TimeSpan.FromSeconds(10));
            await ProjectorTests.WaitForCheckpointAsync(redis, 30);
            await projector.StopAsync(CancellationToken.None);
        }

        Assert.Equal("Redis checkpoint is 0, behind 30, the last read from Redis: Redis on " + redis.Endpoint + " lost what it held (FLUSHALL, a restart " +
            "without persistence, a new server at the same address) or was cleared by `tradestore redis rebuild`. Re-applying 30 journal events from seq 1",
            Assert.Single(logger.Messages(3010)));
        var report = await new RedisVerifier(redis.Keys).VerifyAsync(redis.Database, database, Ct);
        Assert.True(report.IsClean, string.Join("\n", report.Differences));
    }

    private static async Task RedisCliAsync(PrivateRedis server, params string[] arguments)
    {
        using var cli = System.Diagnostics.Process.Start("redis-cli", ["-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. arguments]);
        await cli.WaitForExitAsync(Ct);
        Assert.Equal(0, cli.ExitCode);
    }

    private static Task<HealthCheckResult> CheckAsync(RedisHealthCheck health) => health.CheckHealthAsync(new HealthCheckContext
    {
        Registration = new HealthCheckRegistration("redis", health, HealthStatus.Degraded, null),
    }, Ct);
}
