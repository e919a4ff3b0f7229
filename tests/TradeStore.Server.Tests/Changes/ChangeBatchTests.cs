using System.Text;
using System.Text.Json;
using TradeStore.Core.Trades;
using TradeStore.Server.Changes;

namespace TradeStore.Server.Tests.Changes;

/// <summary>
/// A commit batch's frames are made once and shared: byte for byte the frames of its events one by one, whichever
/// subscriber asks first and however many ask at once.
/// </summary>
public sealed class ChangeBatchTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Frames_ManySubscribersAtOnce_SameBytesAsEachEventFormattedAlone()
    {
        var events = Events(41, 25);
        var expected = events.SelectMany(ChangeEvent.Format).ToArray();
        var batch = new ChangeBatch(events);

        var seen = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => Written(batch, 0), TestContext.Current.CancellationToken)));

        Assert.All(seen, frames => Assert.Equal(expected, frames));
        Assert.Equal(ChangeEvent.Format(events[3]), batch.Frame(3).ToArray());
        Assert.Equal(events.Skip(10).SelectMany(ChangeEvent.Format).ToArray(), Written(batch, 10));
        Assert.Equal((41L, 65L), (batch.FirstSeq, batch.LastSeq));
    }

    [Fact]
    public void Frames_BatchOfMegabytes_KeptInSegmentsBelowTheLargeObjectHeapButWrittenWhole()
    {
        var events = Events(1, 5_000);
        var batch = new ChangeBatch(events);

        var whole = Written(batch, 0);

        Assert.True(whole.Length > 1_000_000, $"{whole.Length} bytes");
        Assert.Equal(events.SelectMany(ChangeEvent.Format).ToArray(), whole);
        Assert.Equal(events.Skip(4_321).SelectMany(ChangeEvent.Format).ToArray(), Written(batch, 4_321));
        foreach (var index in new[] { 0, 1, 77, 78, 79, 2_500, 4_999 })
        {
            Assert.Equal(ChangeEvent.Format(events[index]), batch.Frame(index).ToArray());
        }

        // Handed over as pieces of about SegmentBytes each: arrays of the small-object heap, never of the large-object heap.
        var pieces = new RecordingWriter();
        WriteFrom(batch, 0, pieces);
        Assert.True(pieces.Writes.Count > 20, $"{pieces.Writes.Count} pieces");
        Assert.All(pieces.Writes, length => Assert.InRange(length, 1, ChangeBatch.SegmentBytes + 2_048));
    }

    [Fact]
    public void Format_Event_IsOneSseFrameWithIdTypeAndSingleLineJson()
    {
        var frame = Encoding.UTF8.GetString(ChangeEvent.Format(Events(7, 1)[0]));

        var lines = frame.Split('\n');
        Assert.Equal(["id: 7", "event: create"], lines[..2]);
        Assert.StartsWith("data: ", lines[2], StringComparison.Ordinal);
        Assert.Equal(["", ""], lines[3..]);
        using var data = JsonDocument.Parse(lines[2]["data: ".Length..]);
        Assert.Equal(7, data.RootElement.GetProperty("seq").GetInt64());
        Assert.Equal("T7", data.RootElement.GetProperty("trade").GetProperty("tradeId").GetString());
    }

    private static List<TradeEvent> Events(long firstSeq, int count) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var seq = firstSeq + i;
            var state = new Trade($"T{seq}", "ACC-1", "AAPL", Side.Buy, 100.5m, 10.125m, 0m, 0m, TradeStatus.New, "XNAS",
                seq % 7 == 0 ? "trader-é" : null, At, 1, seq, At, At.AddMilliseconds(seq));
            return new TradeEvent(seq, TradeEventType.Create, state, null, null, At.AddMilliseconds(seq), null);
        })];

    private static byte[] Written(ChangeBatch batch, int first)
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        WriteFrom(batch, first, output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>The frames from the event at <paramref name="first"/> on, piece by piece, as a live stream writes them.</summary>
    private static void WriteFrom(ChangeBatch batch, int first, System.Buffers.IBufferWriter<byte> output)
    {
        for (var next = first; next < batch.Events.Count;)
        {
            next = batch.WritePiece(next, output, out _);
        }
    }

    /// <summary>Records the length of each piece written to it.</summary>
    private sealed class RecordingWriter : System.Buffers.IBufferWriter<byte>
    {
        private readonly byte[] _room = new byte[1 << 20];

        public List<int> Writes { get; } = [];

        public void Advance(int count) => Writes.Add(count);

        public Memory<byte> GetMemory(int sizeHint = 0) => _room;

        public Span<byte> GetSpan(int sizeHint = 0) => _room;
    }
}
