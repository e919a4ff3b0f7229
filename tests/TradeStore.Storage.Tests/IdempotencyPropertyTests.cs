using CsCheck;
using TradeStore.Core.Trades;

namespace TradeStore.Storage.Tests;

/// <summary>
/// Idempotency keys in callers' namespaces (issue #19, finding 3) through the real engine and a restart: a key replays
/// only for the same caller and the same request, is refused for a different request, and never crosses callers.
/// </summary>
public sealed class IdempotencyPropertyTests
{
    private static readonly string[] Callers = ["0a1b2c3d", "4e5f6a7b", IdempotencyKeys.Anonymous];

    private static readonly Gen<(int Caller, int Key, TradeCommand Command)[]> Sequences =
        Gen.Select(Gen.Int[0, Callers.Length - 1], Gen.Int[0, 3], Gen.Int[0, 9], Gen.Int[0, 3], Gen.Int[0, 4])
            .Select(t => (t.Item1, t.Item2, Make(t.Item3, t.Item4, t.Item5)))
            .Array[1, 30];

    [Fact]
    public async Task SubmitAsync_NamespacedKeys_ReplayOnlySameCallerAndRequestAcrossRestart()
    {
        await using var harness = EngineHarness.Start();
        var recorded = new Dictionary<(int Caller, string Key), (string Fingerprint, TradeCommand Command, Trade Trade)>();
        var run = 0;

        await Sequences.SampleAsync(async sequence =>
        {
            var prefix = $"R{Interlocked.Increment(ref run)}-";
            var commands = sequence.Select(s => Scoped(s.Caller, prefix + "k" + s.Key, s.Command with { TradeId = prefix + s.Command.TradeId })).ToArray();
            // Queued without waiting, so batches mix them and keys repeat within one batch too.
            var results = await Task.WhenAll(commands.Select(c => harness.Submit(c).AsTask()));

            for (var i = 0; i < commands.Length; i++)
            {
                var slot = (sequence[i].Caller, prefix + "k" + sequence[i].Key);
                var fingerprint = IdempotencyKeys.Fingerprint(commands[i]);
                if (recorded.TryGetValue(slot, out var earlier))
                {
                    if (earlier.Fingerprint == fingerprint)
                    {
                        Assert.True(results[i].Replayed);
                        Assert.Equal(earlier.Trade, results[i].Trade);
                    }
                    else
                    {
                        Assert.Equal(CommandErrorKind.IdempotencyKeyReused, results[i].Error?.Kind);
                    }
                }
                else
                {
                    Assert.False(results[i].Replayed);
                    Assert.NotEqual(CommandErrorKind.IdempotencyKeyReused, results[i].Error?.Kind);
                    if (results[i].Succeeded)
                    {
                        recorded[slot] = (fingerprint, commands[i], results[i].Trade!);
                    }
                }
            }
        }, iter: 40, threads: 1);

        Assert.NotEmpty(recorded);
        await harness.RestartAsync();

        foreach (var ((caller, key), (_, command, trade)) in recorded)
        {
            var again = await harness.Submit(command);
            Assert.True(again.Replayed);
            Assert.Equal(trade, again.Trade);

            var otherCaller = (caller + 1) % Callers.Length;
            if (!recorded.ContainsKey((otherCaller, key)))
            {
                var foreign = await harness.Submit(Scoped(otherCaller, key, Unscoped(command)));
                Assert.False(foreign.Replayed);
            }

            var changed = await harness.Submit(Scoped(caller, key, Unscoped(command) with { TradeId = command.TradeId + "-other" }));
            Assert.Equal(CommandErrorKind.IdempotencyKeyReused, changed.Error?.Kind);
        }
    }

    /// <summary>
    /// Keys stored plain, as builds before namespacing (2026-11-26) stored every key: after an upgrade the same key sent
    /// again for the same trade is a retry and replays (it used to apply a fill a second time); for another trade it is a reuse.
    /// </summary>
    [Fact]
    public async Task SubmitAsync_KeyStoredPlainBeforeNamespacing_SameTradeReplaysAfterRestartOtherTradeRefused()
    {
        await using var harness = EngineHarness.Start();
        var create = new CreateTrade("L1", "A", "S", Side.Buy, 10m, 100m, IdempotencyKey: "create-L1");
        var fill = new FillTrade("L1", 5m, 100m, IdempotencyKey: "fill-1");
        Assert.True((await harness.Submit(create)).Succeeded);
        var filled = await harness.Submit(fill);
        Assert.True(filled.Succeeded);
        await harness.RestartAsync();

        var createRetried = await harness.Submit(Scoped(2, "create-L1", create));
        var fillRetried = await harness.Submit(Scoped(2, "fill-1", fill));
        var otherTrade = await harness.Submit(Scoped(0, "fill-1", fill with { TradeId = "L2" }));

        Assert.True(createRetried.Replayed, createRetried.Error?.Message);
        Assert.True(fillRetried.Replayed, fillRetried.Error?.Message);
        Assert.Equal(filled.Trade, fillRetried.Trade);
        Assert.Equal(CommandErrorKind.IdempotencyKeyReused, otherTrade.Error?.Kind);
        var state = harness.Index.Find("L1")!;
        Assert.Equal(5m, state.FilledQuantity);
        Assert.Equal(2, state.Version);
    }

    /// <summary>
    /// Times are stored in whole microseconds, so an executedAt with a tenth of a microsecond and the same time without it
    /// store the same trade: the same key sent with each is a retry (it was a 422 idempotency-key-reused), also after a restart.
    /// </summary>
    [Fact]
    public async Task SubmitAsync_SameKeyExecutedAtDiffersBelowMicrosecond_Replays()
    {
        await using var harness = EngineHarness.Start();
        var first = await harness.Submit(Scoped(2, "sub-us", SubMicrosecondCreate));
        var second = await harness.Submit(Scoped(2, "sub-us", SubMicrosecondCreate with { ExecutedAt = WholeMicrosecond }));
        await harness.RestartAsync();
        var afterRestart = await harness.Submit(Scoped(2, "sub-us", SubMicrosecondCreate with { ExecutedAt = WholeMicrosecond }));

        Assert.True(first.Succeeded, first.Error?.Message);
        Assert.Equal(WholeMicrosecond, first.Trade!.ExecutedAt);
        Assert.True(second.Replayed, second.Error?.Message);
        Assert.Equal(first.Trade, second.Trade);
        Assert.True(afterRestart.Replayed, afterRestart.Error?.Message);
        Assert.Equal(first.Trade, afterRestart.Trade);
    }

    /// <summary>
    /// A key stored by a build before 2026-12-02 carries the fingerprint of executedAt's raw ticks: after an upgrade a
    /// retry of that request (the same sub-microsecond time) replays instead of being refused or applied again.
    /// </summary>
    [Fact]
    public async Task SubmitAsync_KeyStoredWithRawTicksFingerprint_RetryReplaysAfterRestart()
    {
        await using var harness = EngineHarness.Start();
        var stored = await harness.Submit(SubMicrosecondCreate with { IdempotencyKey = $"{IdempotencyKeys.Anonymous}:{RawTicksFingerprint}:old-key" });
        Assert.True(stored.Succeeded, stored.Error?.Message);
        await harness.RestartAsync();

        var retried = await harness.Submit(Scoped(2, "old-key", SubMicrosecondCreate));
        var otherBody = await harness.Submit(Scoped(2, "old-key", SubMicrosecondCreate with { Price = 101m }));

        Assert.True(retried.Replayed, retried.Error?.Message);
        Assert.Equal(stored.Trade, retried.Trade);
        Assert.Equal(CommandErrorKind.IdempotencyKeyReused, otherBody.Error?.Kind);
        Assert.Equal(1, harness.Index.Find("F1")!.Version);
    }

    /// <summary>The fingerprint hashes the time as stored; for whole microseconds it is the one earlier builds stored.</summary>
    [Fact]
    public void Fingerprint_ExecutedAtBelowMicrosecond_SameAsStoredTime()
    {
        Assert.Equal(WholeMicrosecondFingerprint, IdempotencyKeys.Fingerprint(SubMicrosecondCreate));
        Assert.Equal(WholeMicrosecondFingerprint, IdempotencyKeys.Fingerprint(SubMicrosecondCreate with { ExecutedAt = WholeMicrosecond }));
        Assert.Equal(
            IdempotencyKeys.Fingerprint(new AmendTrade("T", 1, ExecutedAt: WholeMicrosecond)),
            IdempotencyKeys.Fingerprint(new AmendTrade("T", 1, ExecutedAt: WholeMicrosecond.AddTicks(9))));
    }

    [Fact]
    public void SameRequest_RawTicksFingerprint_MatchesOnlyItsOwnRequest()
    {
        var current = IdempotencyKeys.Fingerprint(SubMicrosecondCreate);

        Assert.True(IdempotencyKeys.SameRequest(current, current, SubMicrosecondCreate));
        Assert.True(IdempotencyKeys.SameRequest(RawTicksFingerprint, current, SubMicrosecondCreate));
        Assert.True(IdempotencyKeys.SameRequest(null, null, SubMicrosecondCreate));
        var otherTime = SubMicrosecondCreate with { ExecutedAt = WholeMicrosecond.AddTicks(2) };
        Assert.False(IdempotencyKeys.SameRequest(RawTicksFingerprint, IdempotencyKeys.Fingerprint(otherTime), otherTime));
        var otherPrice = SubMicrosecondCreate with { Price = 101m };
        Assert.False(IdempotencyKeys.SameRequest(RawTicksFingerprint, IdempotencyKeys.Fingerprint(otherPrice), otherPrice));
        Assert.False(IdempotencyKeys.SameRequest(null, current, SubMicrosecondCreate));
    }

    [Theory]
    [InlineData("0a1b:0123456789abcdef0123456789abcdef:order:1", "0a1b:order:1", "0123456789abcdef0123456789abcdef", "order:1")]
    [InlineData("plain-key", "plain-key", null, "plain-key")]
    [InlineData("a:not-a-fingerprint:key", "a:not-a-fingerprint:key", null, "a:not-a-fingerprint:key")]
    public void Split_StoredKey_LookupFingerprintAndClientKey(string stored, string lookup, string? fingerprint, string client)
    {
        Assert.Equal((lookup, fingerprint), IdempotencyKeys.Split(stored));
        Assert.Equal(client, IdempotencyKeys.ClientKey(stored));
    }

    [Fact]
    public void Fingerprint_SameAmountOtherScale_Equal() =>
        Assert.Equal(
            IdempotencyKeys.Fingerprint(new FillTrade("T", 1.50m, 2m)),
            IdempotencyKeys.Fingerprint(new FillTrade("T", 1.5m, 2.000m)));

    private static readonly DateTimeOffset WholeMicrosecond = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Executed a tenth of a microsecond after <see cref="WholeMicrosecond"/>: stored as <see cref="WholeMicrosecond"/>.</summary>
    private static readonly CreateTrade SubMicrosecondCreate = new("F1", "A", "S", Side.Buy, 10m, 100m, ExecutedAt: WholeMicrosecond.AddTicks(1));

    /// <summary>What builds before 2026-12-02 stored with <see cref="SubMicrosecondCreate"/>'s key (SHA-256 over the raw ticks 639316800000000001).</summary>
    private const string RawTicksFingerprint = "95576ff87f01ae1274f44b4b16cd7dd7";

    /// <summary>What those builds stored for the same trade at <see cref="WholeMicrosecond"/>, and what this build computes for both.</summary>
    private const string WholeMicrosecondFingerprint = "b31ea14247731e772f5c9a2a9f4f1df3";

    private static TradeCommand Scoped(int caller, string key, TradeCommand command)
    {
        var keyed = command with { IdempotencyKey = key };
        return keyed with { IdempotencyKey = IdempotencyKeys.Scope(Callers[caller], keyed) };
    }

    private static TradeCommand Unscoped(TradeCommand command) => command with { IdempotencyKey = IdempotencyKeys.ClientKey(command.IdempotencyKey!) };

    private static TradeCommand Make(int kind, int id, int amount)
    {
        var tradeId = $"T{id}";
        return kind switch
        {
            < 4 => new CreateTrade(tradeId, "A", "S", Side.Buy, amount + 5, 10m),
            < 8 => new FillTrade(tradeId, amount + 1, 11m),
            8 => new CancelTrade(tradeId),
            _ => new AmendTrade(tradeId, null, Price: amount + 1),
        };
    }
}
