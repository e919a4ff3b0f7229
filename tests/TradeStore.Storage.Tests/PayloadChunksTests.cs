using System.Runtime.InteropServices;
using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;

namespace TradeStore.Storage.Tests;

/// <summary>The engine's payload encoder: shared chunks, yet every payload stays exactly what the codec writes.</summary>
public sealed class PayloadChunksTests
{
    private static readonly DateTimeOffset At = new DateTimeOffset(2026, 12, 1, 9, 30, 0, TimeSpan.Zero).AddTicks(1_234_560);

    [Fact]
    public void Encode_ThousandsOfEvents_EachPayloadEqualsTheCodecsAndDecodesBackAfterLaterOnes()
    {
        var chunks = new PayloadChunks();
        var events = Enumerable.Range(1, 3000).Select(seq => Event(seq, key: seq % 4 == 0 ? $"key-{seq}" : null)).ToList();

        var payloads = events.Select(chunks.Encode).ToList();

        // Checked only after every later payload was written: none overwrote an earlier one.
        for (var i = 0; i < events.Count; i++)
        {
            Assert.Equal(EventCodec.Encode(events[i]), payloads[i].ToArray());
            Assert.Equal(events[i], EventCodec.Decode(events[i].Seq, payloads[i].Span));
        }

        var arrays = payloads.Select(ArrayOf).Distinct().ToList();
        Assert.InRange(arrays.Count, 2, events.Count / 50);
        Assert.All(arrays, a => Assert.Equal(PayloadChunks.ChunkBytes, a.Length));
    }

    [Fact]
    public void Encode_PayloadLargerThanAChunk_GetsItsOwnArrayAndTheNextOneStartsAFreshChunk()
    {
        var chunks = new PayloadChunks();
        var small = chunks.Encode(Event(1, key: null));
        var large = Event(2, key: new string('k', PayloadChunks.ChunkBytes + 100));
        var big = chunks.Encode(large);
        var after = chunks.Encode(Event(3, key: null));

        Assert.True(big.Length > PayloadChunks.ChunkBytes);
        Assert.Equal(large, EventCodec.Decode(2, big.Span));
        Assert.NotSame(ArrayOf(small), ArrayOf(big));
        Assert.NotSame(ArrayOf(big), ArrayOf(after));
        Assert.Equal(Event(1, key: null), EventCodec.Decode(1, small.Span));
        Assert.Equal(Event(3, key: null), EventCodec.Decode(3, after.Span));
    }

    private static byte[] ArrayOf(ReadOnlyMemory<byte> payload) =>
        MemoryMarshal.TryGetArray(payload, out var segment) ? segment.Array! : throw new InvalidOperationException("not array-backed");

    private static TradeEvent Event(long seq, string? key)
    {
        var state = new Trade($"T{seq}", "ACC-1", "AAPL", seq % 2 == 0 ? Side.Buy : Side.Sell, 100.5m, 10.125m, 0m, 0m, TradeStatus.New,
            seq % 5 == 0 ? null : "XNAS", seq % 7 == 0 ? "trader-é" : null, At, 1, seq, At, At.AddMilliseconds(seq));
        return new TradeEvent(seq, TradeEventType.Create, state, null, null, At.AddMilliseconds(seq), key);
    }
}
