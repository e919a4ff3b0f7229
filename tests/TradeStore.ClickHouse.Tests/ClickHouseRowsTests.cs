using TradeStore.ClickHouse.Rows;
using TradeStore.ClickHouse.Tests.Support;
using TradeStore.Core.Trades;

namespace TradeStore.ClickHouse.Tests;

public sealed class ClickHouseRowsTests
{
    private static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 11, 26, 14, 59, 59, TimeSpan.Zero).AddTicks(1234560);

    [Fact]
    public async Task WriteEvents_ExtremeDecimalsAndNulls_ReadBackExactly()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("rows");
        var ct = TestContext.Current.CancellationToken;
        TradeEvent[] events =
        [
            Event(1, TradeEventType.Create, quantity: Money.Max, price: 0.00000001m, filled: 0m, notional: 0m, last: null, venue: null),
            Event(2, TradeEventType.Fill, quantity: 123.45678901m, price: 9_999_999_999.99999999m, filled: 0.00000001m,
                notional: 0.0000000000000001m, last: (0.00000001m, 0.00000001m), venue: "XNAS \"quoted\" é"),
            Event(3, TradeEventType.Fill, quantity: 1m, price: 1m, filled: 1m, notional: 123_456_789_012.3456789012345678m, last: (1m, 5m), venue: "v"),
        ];

        using (var body = new PooledBufferWriter(16))
        {
            ClickHouseRows.WriteEvents(body, events);
            await ch.Client.InsertAsync("INSERT INTO trade_events FORMAT JSONEachRow", new SendOnceContent(body.WrittenMemory), ct, ch.Name);
        }

        var rows = await ch.Client.QueryRowsAsync($"SELECT {ClickHouseRows.EventColumns} FROM trade_events ORDER BY seq", ct, ch.Name);
        var read = rows.Select(ClickHouseRows.ReadEvent).ToList();

        Assert.Equal(events, read);
        Assert.Equal("123456789012.3456789012345678", read[2].State.FilledNotional.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var date = await ch.Client.QueryAsync("SELECT toString(recorded_date) FROM trade_events WHERE seq = 1", ct, ch.Name);
        Assert.Equal("2026-11-26", date.Trim());
    }

    [Fact]
    public async Task WriteLatestStates_SeveralEventsPerTrade_OneRowPerTradeAtItsLastVersion()
    {
        using var body = new PooledBufferWriter();
        var count = ClickHouseRows.WriteLatestStates(body,
        [
            Event(1, TradeEventType.Create, 10m, 1m, 0m, 0m, null, null) with { State = State(1, "a", version: 1) },
            Event(2, TradeEventType.Create, 10m, 1m, 0m, 0m, null, null) with { State = State(2, "b", version: 1) },
            Event(3, TradeEventType.Amend, 10m, 1m, 0m, 0m, null, null) with { State = State(3, "a", version: 2) },
        ]);

        var lines = System.Text.Encoding.UTF8.GetString(body.WrittenMemory.Span).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, count);
        Assert.Equal(2, lines.Length);
        Assert.Contains(lines, l => l.Contains("\"trade_id\":\"a\",\"version\":2,\"last_seq\":3", StringComparison.Ordinal));
    }

    private static Trade State(long seq, string id, long version) =>
        new(id, "acc", "SYM", Side.Sell, 10m, 1m, 0m, 0m, TradeStatus.New, null, null, T0, version, seq, T0, T0);

    private static TradeEvent Event(long seq, TradeEventType type, decimal quantity, decimal price, decimal filled, decimal notional,
        (decimal Quantity, decimal Price)? last, string? venue)
    {
        var state = new Trade($"t-{seq}", "acc-1", "EURUSD", Side.Buy, quantity, price, filled, notional,
            filled == 0 ? TradeStatus.New : TradeStatus.PartiallyFilled, venue, seq == 2 ? null : "trader", T0.AddDays(-1), seq, seq, T0.AddHours(-1), T0);
        return new TradeEvent(seq, type, state, last?.Quantity, last?.Price, T0, seq == 1 ? null : $"key-{seq}");
    }
}
