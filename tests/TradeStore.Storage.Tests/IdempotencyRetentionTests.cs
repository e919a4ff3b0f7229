using Microsoft.Extensions.Time.Testing;
using TradeStore.Core.Options;
using TradeStore.Core.Trades;

namespace TradeStore.Storage.Tests;

/// <summary>
/// <c>Engine:IdempotencyKeyRetention</c> through the real engine on a real DuckDB file: a key replays within it, is
/// forgotten after it (in memory and at a restart), so memory and start-up no longer grow with every keyed write ever made.
/// </summary>
public sealed class IdempotencyRetentionTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 2, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task SubmitAsync_KeyOlderThanTheRetention_ForgottenInMemoryAndNotLoadedAtRestart()
    {
        var clock = new FakeTimeProvider(Start);
        await using var harness = EngineHarness.Start(new EngineOptions { IdempotencyKeyRetention = TimeSpan.FromHours(1) }, clock);
        var create = new CreateTrade("R1", "A", "S", Side.Buy, 10m, 100m, IdempotencyKey: "create-R1");
        var fill = new FillTrade("R1", 1m, 100m, IdempotencyKey: "fill-R1");
        Assert.True((await harness.Submit(create)).Succeeded);
        Assert.True((await harness.Submit(fill)).Succeeded);

        clock.Advance(TimeSpan.FromMinutes(59));
        var withinRetention = await harness.Submit(fill);
        clock.Advance(TimeSpan.FromMinutes(2));
        // A commit lets the writer forget what expired.
        Assert.True((await harness.Submit(new CreateTrade("R2", "A", "S", Side.Buy, 1m, 1m))).Succeeded);
        var keysAfterExpiry = harness.Index.IdempotencyKeyCount;
        var afterRetention = await harness.Submit(fill);

        Assert.True(withinRetention.Replayed);
        Assert.Equal(0, keysAfterExpiry);
        Assert.False(afterRetention.Replayed);
        Assert.Equal(2m, afterRetention.Trade!.FilledQuantity);

        clock.Advance(TimeSpan.FromMinutes(30));
        await harness.RestartAsync();
        var keysLoadedWithin = harness.Index.IdempotencyKeyCount;
        var replayedAfterRestart = await harness.Submit(fill);
        clock.Advance(TimeSpan.FromHours(2));
        await harness.RestartAsync();

        Assert.Equal(1, keysLoadedWithin); // the second fill's key; the first fill's and the create's are older than an hour
        Assert.True(replayedAfterRestart.Replayed);
        Assert.Equal(2m, replayedAfterRestart.Trade!.FilledQuantity);
        Assert.Equal(0, harness.Index.IdempotencyKeyCount);
        Assert.Equal(CommandErrorKind.AlreadyExists, (await harness.Submit(create)).Error?.Kind);
    }

    /// <summary>
    /// The writer sweeps expired keys out of memory only after a commit, so on a server with no write since a key expired
    /// a retry of it was replayed: the same fill retried after the retention answered the first fill again instead of
    /// filling, although api.md says the key is then forgotten and the request new (found reading the code in a soak).
    /// </summary>
    [Fact]
    public async Task SubmitAsync_KeyExpiredWithNoCommitSince_IsANewRequestNotAReplay()
    {
        var clock = new FakeTimeProvider(Start);
        await using var harness = EngineHarness.Start(new EngineOptions { IdempotencyKeyRetention = TimeSpan.FromHours(1) }, clock);
        var create = new CreateTrade("X1", "A", "S", Side.Buy, 10m, 100m, IdempotencyKey: "create-X1");
        var fill = new FillTrade("X1", 1m, 100m, IdempotencyKey: "fill-X1");
        Assert.True((await harness.Submit(create)).Succeeded);
        Assert.True((await harness.Submit(fill)).Succeeded);

        clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var fillAgain = await harness.Submit(fill);
        var createAgain = await harness.Submit(create);

        Assert.False(fillAgain.Replayed);
        Assert.Equal(2m, fillAgain.Trade!.FilledQuantity);
        Assert.Equal(CommandErrorKind.AlreadyExists, createAgain.Error?.Kind);
    }

    /// <summary>
    /// A burst of keyed writes sized the key tables for its peak, and they stayed that size after every key expired (a
    /// soak measured it): the memory of a burst was never given back.
    /// </summary>
    [Fact]
    public async Task SubmitAsync_BurstOfKeysExpired_TablesGiveTheirRoomBack()
    {
        var clock = new FakeTimeProvider(Start);
        await using var harness = EngineHarness.Start(new EngineOptions { IdempotencyKeyRetention = TimeSpan.FromHours(1) }, clock);
        const int Burst = 20_000;
        var results = await Task.WhenAll(Enumerable.Range(0, Burst)
            .Select(i => harness.Submit(new CreateTrade($"B{i}", "A", "S", Side.Buy, 1m, 1m, IdempotencyKey: $"burst-{i}")).AsTask()));
        Assert.All(results, r => Assert.True(r.Succeeded));
        var peak = harness.Index.IdempotencyCapacity;

        clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        Assert.True((await harness.Submit(new CreateTrade("after", "A", "S", Side.Buy, 1m, 1m, IdempotencyKey: "after"))).Succeeded);

        Assert.True(peak >= Burst, $"room for {peak} keys after a burst of {Burst}");
        Assert.Equal(1, harness.Index.IdempotencyKeyCount);
        Assert.True(harness.Index.IdempotencyCapacity < 1024, $"room for {harness.Index.IdempotencyCapacity} keys kept for 1");
    }
}
