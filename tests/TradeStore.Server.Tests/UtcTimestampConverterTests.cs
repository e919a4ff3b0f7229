using System.Globalization;
using System.Text.Json;
using TradeStore.Server.Api;

namespace TradeStore.Server.Tests;

/// <summary>Times are written in UTC with exactly six fractional digits, truncated, whatever the value's offset and precision.</summary>
public sealed class UtcTimestampConverterTests
{
    private static readonly JsonSerializerOptions Options = new() { Converters = { new UtcTimestampConverter() } };

    [Theory]
    [InlineData("2026-01-02T03:04:05.1234567+00:00", "2026-01-02T03:04:05.123456Z")]
    [InlineData("2026-01-02T03:04:05+01:30", "2026-01-02T01:34:05.000000Z")]
    [InlineData("0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00.000000Z")]
    [InlineData("9999-12-31T23:59:59.9999999+00:00", "9999-12-31T23:59:59.999999Z")]
    public void Write_Value_UtcWithMicroseconds(string value, string expected)
    {
        var time = DateTimeOffset.Parse(value, CultureInfo.InvariantCulture);

        Assert.Equal($"\"{expected}\"", JsonSerializer.Serialize(time, Options));
        Assert.Equal(expected, UtcTimestampConverter.Format(time));
    }

    [Fact]
    public void Write_RandomTimesAndOffsets_SameAsTheCustomFormatString()
    {
        var random = new Random(20261130);
        for (var i = 0; i < 10_000; i++)
        {
            var ticks = random.NextInt64(TimeSpan.TicksPerDay, DateTime.MaxValue.Ticks - TimeSpan.TicksPerDay);
            var time = new DateTimeOffset(ticks, TimeSpan.FromMinutes(random.Next(-14 * 60, 14 * 60 + 1)));

            var expected = time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
            Assert.Equal(expected, UtcTimestampConverter.Format(time));
            Assert.Equal($"\"{expected}\"", JsonSerializer.Serialize(time, Options));
        }
    }
}
