using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;

namespace TradeStore.Storage.Tests;

/// <summary>
/// What the index holds for each idempotency key sent over HTTP (<c>{caller}:{fingerprint}:{key}</c>): the lookup string,
/// the table entry, its place in the age queue, and until 2026-12-05 the fingerprint as a 32-character string (88
/// bytes). A server measured 191 bytes a key then; the fingerprint is now 16 bytes inside the entry.
/// </summary>
[Collection(nameof(MemoryMeasuredAlone))]
public sealed class IdempotencyMemoryTests
{
    private const int Keys = 50_000;
    private static readonly DateTimeOffset At = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void KeysSentOverHttp_HoldTheirFingerprintInTheEntry()
    {
        var keyless = Events(withKeys: false);
        var keyed = Events(withKeys: true);

        var perKey = (Held(keyed) - Held(keyless)) / (double)Keys;

        // 175 bytes measured (lookup string 64, the entry and the queue slot with their arrays' growth slack); 251 with the
        // fingerprint held as a string.
        Assert.True(perKey < 210, $"{Keys:N0} keys sent over HTTP held {perKey:N0} bytes each beyond their trades");
        Assert.True(perKey > 60, $"{perKey:N0} bytes a key: the keys were not held at all");
    }

    /// <summary>The bytes an index holds once <paramref name="events"/> are applied.</summary>
    private static long Held(IReadOnlyList<TradeEvent> events)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var index = new StateIndex();
        index.ApplyBatch(events);
        var held = GC.GetTotalMemory(forceFullCollection: true) - before;
        Assert.Equal(events.Count, index.Count);
        GC.KeepAlive(index);
        return held;
    }

    private static List<TradeEvent> Events(bool withKeys) => [.. Enumerable.Range(1, Keys).Select(i =>
    {
        var create = new CreateTrade($"T{i:D6}", "ACC-1", "AAPL", Side.Buy, 100m, 10.5m, ExecutedAt: At, IdempotencyKey: $"K-{i:D6}");
        var state = new Trade(create.TradeId, "ACC-1", "AAPL", Side.Buy, 100m, 10.5m, 0m, 0m, TradeStatus.New, null, null, At, 1, i, At, At);
        return new TradeEvent(i, TradeEventType.Create, state, null, null, At, withKeys ? IdempotencyKeys.Scope(IdempotencyKeys.Anonymous, create) : null);
    })];
}
