using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// What the index holds for each idempotency key sent over HTTP (<c>{caller}:{fingerprint}:{key}</c>): its table entry
/// (the lookup's 128-bit digest and the record with the request's 16-byte fingerprint) and its place in the age queue.
/// Until 2026-12-05 the fingerprint was a 32-character string of its own (88 bytes), and until session 39 the table
/// was keyed by the lookup's text, <c>{caller}:{key}</c>, a string of 64 bytes for a 10-character key and more for a
/// longer one (2 bytes a character).
/// </summary>
[Collection(nameof(MemoryMeasuredAlone))]
public sealed class IdempotencyMemoryTests
{
    private const int Keys = 50_000;
    private static readonly DateTimeOffset At = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void KeysSentOverHttp_HoldTheirDigestAndFingerprintInTheEntry()
    {
        var perKey = PerKey(clientKey: i => $"K-{i:D6}");

        // 134 bytes measured (the entry and the queue slot with their arrays' growth slack); 175 with the lookup string
        // of 64 bytes, 251 with the fingerprint held as a string too.
        Assert.True(perKey < 155, $"{Keys:N0} keys sent over HTTP held {perKey:N0} bytes each beyond their trades");
        Assert.True(perKey > 60, $"{perKey:N0} bytes a key: the keys were not held at all");
    }

    [Fact]
    public void KeysSentOverHttp_HoldNoneOfTheirText()
    {
        var shortKeys = PerKey(clientKey: i => $"K-{i:D6}");
        var longKeys = PerKey(clientKey: i => $"K-{i:D6}-" + new string('x', 119));

        // The lookup text of a 128-character key held 240 bytes more than that of an 8-character one (415 against 175).
        Assert.True(Math.Abs(longKeys - shortKeys) < 8, $"keys of 128 characters held {longKeys:N0} bytes each, keys of 8 held {shortKeys:N0}");
    }

    /// <summary>The bytes an index of <see cref="Keys"/> trades holds per key when each create carried one (<paramref name="clientKey"/>).</summary>
    private static double PerKey(Func<int, string> clientKey)
    {
        var perKey = (Held(Events(clientKey)) - Held(Events(clientKey: null))) / (double)Keys;
        TestContext.Current.TestOutputHelper?.WriteLine($"{perKey:N1} bytes a key of {clientKey(1).Length} characters");
        return perKey;
    }

    /// <summary>The bytes an index holds once <paramref name="events"/> are applied.</summary>
    private static long Held(IReadOnlyList<TradeEvent> events)
    {
        var held = HeldMemory.Of(() =>
        {
            var index = new StateIndex();
            index.ApplyBatch(events);
            return index;
        }, out var index);
        Assert.Equal(events.Count, index.Count);
        return held;
    }

    private static List<TradeEvent> Events(Func<int, string>? clientKey) => [.. Enumerable.Range(1, Keys).Select(i =>
    {
        var create = new CreateTrade($"T{i:D6}", "ACC-1", "AAPL", Side.Buy, 100m, 10.5m, ExecutedAt: At, IdempotencyKey: clientKey?.Invoke(i));
        var state = new Trade(create.TradeId, "ACC-1", "AAPL", Side.Buy, 100m, 10.5m, 0m, 0m, TradeStatus.New, null, null, At, 1, i, At, At);
        return new TradeEvent(i, TradeEventType.Create, state, null, null, At, IdempotencyKeys.Scope(IdempotencyKeys.Anonymous, create));
    })];
}
