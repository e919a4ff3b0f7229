using System.Buffers;
using System.Text;
using System.Text.Json;
using TradeStore.Core.Trades;
using TradeStore.Server.Api;

namespace TradeStore.Server.Tests;

/// <summary>
/// <see cref="TradeJson"/> writes trades, events and list pages without the response records: its output must be the
/// serializer's output for those records, byte for byte, for any trade.
/// </summary>
public sealed class TradeJsonTests
{
    private static readonly string[] Texts = ["ACC-1", "a+b", "quote\"d", "back\\slash", "<tag>&", "naïve €", "日本", "tab\tline\n", "'single'", "emoji 😀", ""];

    [Fact]
    public void Write_RandomTrades_SameBytesAsTheSerializedResponse()
    {
        var random = new Random(20261201);
        for (var i = 0; i < 5_000; i++)
        {
            var trade = RandomTrade(random, i);

            Assert.Equal(JsonSerializer.Serialize(TradeResponse.From(trade), ApiJson.Context.TradeResponse), Written(json => TradeJson.Write(json, trade)));
        }
    }

    [Fact]
    public void Write_RandomEvents_SameBytesAsTheSerializedHistoryItem()
    {
        var random = new Random(1201);
        for (var i = 0; i < 5_000; i++)
        {
            var fill = random.Next(3) == 0;
            var journalEvent = new TradeEvent(random.NextInt64(1, long.MaxValue), (TradeEventType)random.Next(5), RandomTrade(random, i),
                fill ? RandomDecimal(random) : null, fill ? RandomDecimal(random) : null, RandomTime(random),
                random.Next(4) switch { 0 => null, 1 => $"key-{i}", 2 => $"trades:key-{i}:0123456789abcdef", _ => Pick(random) });

            Assert.Equal(JsonSerializer.Serialize(TradeEventResponse.From(journalEvent), ApiJson.Context.TradeEventResponse),
                Written(json => TradeJson.Write(json, journalEvent)));
        }
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(1, "cursor+/=")]
    [InlineData(100, "eyJ0IjoiMjAyNi0wMS0wMiJ9")]
    public void Write_Page_SameBytesAsTheSerializedPage(int count, string? cursor)
    {
        var random = new Random(count);
        var page = new TradePage([.. Enumerable.Range(0, count).Select(i => RandomTrade(random, i))], cursor);

        Assert.Equal(JsonSerializer.Serialize(new TradePageResponse([.. page.Trades.Select(TradeResponse.From)], page.NextCursor), ApiJson.Context.TradePageResponse),
            Written(json => TradeJson.Write(json, page)));
    }

    private static string Written(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, TradeJson.WriterOptions))
        {
            write(json);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static Trade RandomTrade(Random random, int i)
    {
        var filled = random.Next(3) == 0 ? 0m : RandomDecimal(random);
        return new Trade($"T-{i}-{Pick(random)}", Pick(random), Pick(random), random.Next(2) == 0 ? Side.Buy : Side.Sell,
            RandomDecimal(random), RandomDecimal(random), filled, filled * RandomDecimal(random), (TradeStatus)random.Next(5),
            random.Next(3) == 0 ? null : Pick(random), random.Next(3) == 0 ? null : Pick(random), RandomTime(random),
            random.NextInt64(1, 1_000_000), random.NextInt64(1, long.MaxValue), RandomTime(random), RandomTime(random));
    }

    private static string Pick(Random random) => Texts[random.Next(Texts.Length)] + random.Next(100);

    /// <summary>Trailing zeros, large and small scales, integers: whatever the exact-decimal rule must normalize.</summary>
    private static decimal RandomDecimal(Random random) => random.Next(4) switch
    {
        0 => random.Next(1, 1_000_000),
        1 => new decimal(random.Next(), random.Next(100), 0, false, (byte)random.Next(0, 12)),
        2 => decimal.Parse($"{random.Next(1, 99999)}.{random.Next(0, 1000):000}0", System.Globalization.CultureInfo.InvariantCulture),
        _ => new decimal(random.Next(1, 1000), 0, 0, false, 6),
    };

    private static DateTimeOffset RandomTime(Random random) =>
        new(random.NextInt64(new DateTime(2000, 1, 1).Ticks, new DateTime(2100, 1, 1).Ticks), TimeSpan.FromMinutes(random.Next(-12, 13) * 60));
}
