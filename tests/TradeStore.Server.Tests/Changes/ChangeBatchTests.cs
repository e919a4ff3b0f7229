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

        var seen = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => batch.Frames.ToArray(), TestContext.Current.CancellationToken)));

        Assert.All(seen, frames => Assert.Equal(expected, frames));
        Assert.Equal(ChangeEvent.Format(events[3]), batch.Frame(3).ToArray());
        Assert.Equal(events.Skip(10).SelectMany(ChangeEvent.Format).ToArray(), batch.FramesFrom(10).ToArray());
        Assert.Equal((41L, 65L), (batch.FirstSeq, batch.LastSeq));
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
}
