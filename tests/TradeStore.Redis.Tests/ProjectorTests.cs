using Microsoft.Extensions.Diagnostics.HealthChecks;
using TradeStore.Core.Trades;
using TradeStore.Redis.Projection;
using TradeStore.TestSupport;

namespace TradeStore.Redis.Tests;

public sealed class ProjectorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Projector_BurstOfMixedCommandsThroughEngine_RedisEqualsDuckDb()
    {
        await using var redis = await RedisScope.SharedAsync(nameof(ProjectorTests));
        using var dir = new TempDirectory("redis-burst");
        long lastSeq;
        await using (var engine = await EngineScope.StartAsync(redis, dir.DatabasePath, maxBatchSize: 64))
        {
            var mix = new CommandMix(seed: 7, idPrefix: "T");
            for (var i = 0; i < 60; i++)
            {
                await engine.SubmitAsync(mix.Batch(engine.States, 1 + (i % 40)));
            }

            lastSeq = engine.Engine.LastSeq;
            await WaitForCheckpointAsync(redis, lastSeq);
            Assert.Empty(engine.Failures);
            Assert.Contains(engine.States.Values, t => t.Status == TradeStatus.Deleted);
        }

        using var database = Storage.DuckDbDatabase.Open(dir.DatabasePath);
        var report = await new RedisVerifier(redis.Keys).VerifyAsync(redis.Database, database, Ct);
        Assert.True(report.IsClean, string.Join("\n", report.Differences));
        Assert.True(report.PositionsChecked > 0);
        Assert.Equal(lastSeq, report.StreamEntries);
    }

    /// <summary>
    /// On a cluster follower the projector does not run (only the leader writes to Redis) but is still told of every
    /// commit. Before, it queued them all for a projection that never took them: up to 200,000 events held on every
    /// follower for as long as it followed (soak), and readiness described a projection "at seq -1, N events behind".
    /// </summary>
    [Fact]
    public async Task Projector_NotRunning_QueuesNoCommittedEventAndReadinessOnlyPings_ThenCatchesUpFromTheJournalOnceStarted()
    {
        await using var redis = await RedisScope.SharedAsync(nameof(ProjectorTests));
        using var dir = new TempDirectory("redis-not-running");
        await using var engine = await EngineScope.StartAsync(redis, dir.DatabasePath, startProjector: false);
        var health = new RedisHealthCheck(engine.Connection, redis.Options(), engine.Projector);
        var mix = new CommandMix(seed: 5, idPrefix: "F");
        for (var i = 0; i < 50; i++)
        {
            await engine.SubmitAsync(mix.Batch(engine.States, 20));
        }

        var queued = engine.Projector.QueuedEvents;
        var notRunning = await health.CheckHealthAsync(new HealthCheckContext
        {
            Registration = new("redis", health, HealthStatus.Degraded, null),
        }, Ct);
        await engine.Projector.StartAsync(Ct);
        await WaitForCheckpointAsync(redis, engine.Engine.LastSeq);

        Assert.True(engine.Engine.LastSeq >= 500, $"last seq {engine.Engine.LastSeq}");
        Assert.Equal(0, queued);
        Assert.True(notRunning.Status == HealthStatus.Healthy, notRunning.Description);
        Assert.EndsWith("; " + RedisHealthCheck.NotRunningHere, notRunning.Description);
        Assert.DoesNotContain("behind", notRunning.Description);
        Assert.True(engine.Projector.IsRunning);
    }

    [Fact]
    public async Task Projector_PositionsInRedis_MatchDomainPositionsExactly()
    {
        await using var redis = await RedisScope.SharedAsync(nameof(ProjectorTests));
        using var dir = new TempDirectory("redis-positions");
        using var journal = new TestJournal(dir.DatabasePath);
        await using var connection = redis.Connection();
        using var projector = redis.Projector(journal.Database, connection);
        journal.Observers.Add(projector);
        await projector.StartAsync(Ct);

        journal.Commit(
            new CreateTrade("B1", "A", "XYZ", Side.Buy, 3m, 10m),
            new CreateTrade("B2", "A", "XYZ", Side.Buy, 1m, 10m),
            new CreateTrade("S1", "A", "XYZ", Side.Sell, 1m, 10m));
        journal.Commit(new FillTrade("B1", 1m, 10.1m), new FillTrade("B1", 2m, 10.2m), new FillTrade("B2", 1m, 9.99999999m));
        journal.Commit(new FillTrade("S1", 0.5m, 11m));
        journal.Commit(new DeleteTrade("B2"));

        await WaitForCheckpointAsync(redis, journal.LastSeq);
        await projector.StopAsync(Ct);

        var fields = RedisFormat.ToDictionary(await redis.Database.HashGetAllAsync(redis.Keys.Positions("A")));
        // Bought 1 @ 10.1 + 2 @ 10.2 (B2 deleted), sold 0.5: net 2.5 long at the average buy price 30.5 / 3.
        Assert.Equal("2.5", fields["XYZ:net"]);
        Assert.Equal(RedisFormat.Decimal(Money.RoundPrice(30.5m / 3m)), fields["XYZ:avgPrice"]);
        Assert.Equal("3", fields["XYZ:boughtQty"]);
        Assert.Equal("30.5", fields["XYZ:boughtNotional"]);
        Assert.Equal("0.5", fields["XYZ:soldQty"]);
        Assert.False(await redis.Database.KeyExistsAsync(redis.Keys.Trade("B2")));
        Assert.Equal("filled", (string)(await redis.Database.HashGetAsync(redis.Keys.Trade("B1"), "status"))!);
    }

    [Fact]
    public async Task ApplyAsync_BatchAtOrBelowCheckpoint_IsSkippedAndStreamHasEachSeqOnce()
    {
        await using var redis = await RedisScope.SharedAsync(nameof(ProjectorTests));
        using var dir = new TempDirectory("redis-idempotent");
        using var journal = new TestJournal(dir.DatabasePath);
        var first = journal.Commit(new CreateTrade("T1", "A", "XYZ", Side.Buy, 5m, 1m), new FillTrade("T1", 2m, 1.5m));
        var second = journal.Commit(new FillTrade("T1", 1m, 2m));
        var writer = new ProjectionWriter(redis.Keys, 1000);

        Assert.Equal(ApplyOutcome.Applied, (await writer.ApplyAsync(redis.Database, first, 0)).Outcome);
        Assert.Equal(ApplyOutcome.Applied, (await writer.ApplyAsync(redis.Database, second, 2)).Outcome);
        var replay = await writer.ApplyAsync(redis.Database, first, 0);
        var gapped = await writer.ApplyAsync(redis.Database, journal.Commit(new FillTrade("T1", 1m, 2m)).Concat(journal.Commit(new CancelTrade("T1"))).Skip(1).ToList(), 4);

        Assert.Equal(new ApplyResult(ApplyOutcome.AlreadyApplied, 3), replay);
        Assert.Equal(new ApplyResult(ApplyOutcome.CheckpointMoved, 3), gapped);
        var stream = await redis.Database.StreamRangeAsync(redis.Keys.Stream);
        Assert.Equal(["1-0", "2-0", "3-0"], stream.Select(e => (string)e.Id!));
        Assert.Equal("3", (string)(await redis.Database.HashGetAsync(redis.Keys.Positions("A"), "XYZ:boughtQty"))!);
    }

    [Fact]
    public async Task Pipeline_ScriptsSentBeforeTheFirstAnswers_ApplyInOrderWithPositionsAsIfSentOneByOne()
    {
        await using var redis = await RedisScope.SharedAsync(nameof(ProjectorTests));
        using var dir = new TempDirectory("redis-pipeline");
        using var journal = new TestJournal(dir.DatabasePath);
        var first = journal.Commit(new CreateTrade("T1", "A", "XYZ", Side.Buy, 5m, 1m), new FillTrade("T1", 2m, 1.5m));
        var second = journal.Commit(new FillTrade("T1", 1m, 2m), new CreateTrade("T2", "A", "XYZ", Side.Sell, 4m, 3m), new FillTrade("T2", 4m, 3m));
        var writer = new ProjectionWriter(redis.Keys, 1000);

        // The second is built on the first's sums and sent before the first is answered.
        var one = await writer.PrepareAsync(redis.Database, first, 0);
        var sentOne = writer.SendAsync(redis.Database, one);
        var two = await writer.PrepareAsync(redis.Database, second, one.LastSeq, [one]);
        var sentTwo = writer.SendAsync(redis.Database, two);

        Assert.Equal(new ApplyResult(ApplyOutcome.Applied, 2), writer.Complete(one, await sentOne));
        Assert.Equal(new ApplyResult(ApplyOutcome.Applied, 5), writer.Complete(two, await sentTwo));
        var fields = RedisFormat.ToDictionary(await redis.Database.HashGetAllAsync(redis.Keys.Positions("A")));
        Assert.Equal("3", fields["XYZ:boughtQty"]);
        Assert.Equal("5", fields["XYZ:boughtNotional"]);
        Assert.Equal("4", fields["XYZ:soldQty"]);
        Assert.Equal("12", fields["XYZ:soldNotional"]);
        Assert.Equal(["1-0", "2-0", "3-0", "4-0", "5-0"], (await redis.Database.StreamRangeAsync(redis.Keys.Stream)).Select(e => (string)e.Id!));
    }

    [Fact]
    public async Task Pipeline_ThreeInFlight_APositionTheMiddleOneDoesNotTouchIsTakenFromTheOldestThatDoes()
    {
        await using var redis = await RedisScope.SharedAsync(nameof(ProjectorTests));
        using var dir = new TempDirectory("redis-pipeline-three");
        using var journal = new TestJournal(dir.DatabasePath);
        var writer = new ProjectionWriter(redis.Keys, 1000);
        // The writer's cache now holds A/XYZ as this first batch left it.
        Assert.Equal(ApplyOutcome.Applied, (await writer.ApplyAsync(redis.Database, journal.Commit(new CreateTrade("T1", "A", "XYZ", Side.Buy, 5m, 1m), new FillTrade("T1", 1m, 1m)), 0)).Outcome);

        var one = await writer.PrepareAsync(redis.Database, journal.Commit(new FillTrade("T1", 1m, 2m)), 2);
        var sentOne = writer.SendAsync(redis.Database, one);
        var two = await writer.PrepareAsync(redis.Database, journal.Commit(new CreateTrade("T2", "B", "XYZ", Side.Buy, 5m, 1m), new FillTrade("T2", 2m, 1m)), one.LastSeq, [one]);
        var sentTwo = writer.SendAsync(redis.Database, two);
        // A/XYZ: the cache is stale (the first in flight changes it) and the second does not touch it.
        var three = await writer.PrepareAsync(redis.Database, journal.Commit(new FillTrade("T1", 1m, 3m)), two.LastSeq, [one, two]);
        var sentThree = writer.SendAsync(redis.Database, three);

        Assert.Equal(ApplyOutcome.Applied, writer.Complete(one, await sentOne).Outcome);
        Assert.Equal(ApplyOutcome.Applied, writer.Complete(two, await sentTwo).Outcome);
        Assert.Equal(new ApplyResult(ApplyOutcome.Applied, 6), writer.Complete(three, await sentThree));
        var a = RedisFormat.ToDictionary(await redis.Database.HashGetAllAsync(redis.Keys.Positions("A")));
        Assert.Equal("3", a["XYZ:boughtQty"]);
        Assert.Equal("6", a["XYZ:boughtNotional"]);
        Assert.Equal("2", RedisFormat.ToDictionary(await redis.Database.HashGetAllAsync(redis.Keys.Positions("B")))["XYZ:boughtQty"]);
    }

    [Fact]
    public async Task Pipeline_FirstScriptDoesNotApply_TheOneBuiltOnItWritesNothing()
    {
        await using var redis = await RedisScope.SharedAsync(nameof(ProjectorTests));
        using var dir = new TempDirectory("redis-pipeline-refused");
        using var journal = new TestJournal(dir.DatabasePath);
        var first = journal.Commit(new CreateTrade("T1", "A", "XYZ", Side.Buy, 5m, 1m));
        var second = journal.Commit(new FillTrade("T1", 1m, 2m));
        var third = journal.Commit(new FillTrade("T1", 1m, 2m));
        var writer = new ProjectionWriter(redis.Keys, 1000);
        Assert.Equal(ApplyOutcome.Applied, (await writer.ApplyAsync(redis.Database, first, 0)).Outcome);
        var before = await redis.DumpAsync();

        // Built as if Redis stood at seq 2 (it stands at 1): the first is refused, and so is the one sent behind it.
        var wrong = await writer.PrepareAsync(redis.Database, third, 2);
        var sentWrong = writer.SendAsync(redis.Database, wrong);
        var behind = await writer.PrepareAsync(redis.Database, journal.Commit(new FillTrade("T1", 1m, 2m)), wrong.LastSeq, [wrong]);
        var sentBehind = writer.SendAsync(redis.Database, behind);

        Assert.Equal(new ApplyResult(ApplyOutcome.CheckpointMoved, 1), writer.Complete(wrong, await sentWrong));
        Assert.Equal(new ApplyResult(ApplyOutcome.CheckpointMoved, 1), writer.Complete(behind, await sentBehind));
        Assert.Equal(before, await redis.DumpAsync());
        Assert.Equal(new ApplyResult(ApplyOutcome.Applied, 2), await writer.ApplyAsync(redis.Database, second, 1));
    }

    [Fact]
    public async Task Status_IdleAndCaughtUp_NeverReportsSeqMinusOne()
    {
        await using var redis = await RedisScope.SharedAsync(nameof(ProjectorTests));
        using var dir = new TempDirectory("redis-idle");
        using var journal = new TestJournal(dir.DatabasePath);
        await using var connection = redis.Connection();
        using var projector = redis.Projector(journal.Database, connection);
        journal.Observers.Add(projector);
        await projector.StartAsync(Ct);
        journal.Commit(new CreateTrade("I1", "A", "XYZ", Side.Buy, 1m, 10m), new CreateTrade("I2", "A", "XYZ", Side.Sell, 1m, 10m));
        await WaitForCheckpointAsync(redis, journal.LastSeq);
        // Redis's key can be seen a moment before the projector has recorded the delivery in its own status.
        await Eventually.TrueAsync(() => projector.Status.Checkpoint == journal.LastSeq, describe: () => $"status at {projector.Status.Checkpoint}");

        // An idle projector re-reads Redis's checkpoint every second: readiness polls across three of those re-reads.
        var reported = new HashSet<long>();
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(3.5);
        while (DateTime.UtcNow < until)
        {
            reported.Add(projector.Status.Checkpoint);
        }

        await projector.StopAsync(Ct);
        Assert.Equal([journal.LastSeq], reported);
    }

    internal static async Task WaitForCheckpointAsync(RedisScope redis, long seq, TimeSpan? timeout = null)
    {
        string? last = null;
        await Eventually.TrueAsync(async () =>
        {
            last = await redis.Database.StringGetAsync(redis.Keys.Checkpoint);
            return last == seq.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }, timeout ?? TimeSpan.FromSeconds(30), () => $"Redis checkpoint {last ?? "(none)"}, expected {seq}");
    }
}
