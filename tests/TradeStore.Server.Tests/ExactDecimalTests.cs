using System.Text;
using TradeStore.Server.Api;

namespace TradeStore.Server.Tests;

public sealed class ExactDecimalTests
{
    [Fact]
    public void Normalize_RandomValuesOfEveryScaleAndSign_SameBitsAsTheDivision()
    {
        var random = new Random(20261201);
        Span<int> expected = stackalloc int[4];
        Span<int> actual = stackalloc int[4];
        for (var i = 0; i < 1_000_000; i++)
        {
            // Small and full-width mantissas, many with trailing zeros (times a power of ten), zero with either sign.
            var mantissa = random.Next(6) switch
            {
                0 => (UInt128)0,
                1 => (UInt128)(uint)random.Next(1, 1000),
                2 => (UInt128)(uint)random.Next(1, 100000) * Pow10(random.Next(0, 15)),
                3 => ((UInt128)(uint)random.Next() << 64 | (UInt128)(ulong)random.NextInt64()) & ((UInt128.One << 96) - 1),
                _ => (UInt128)(ulong)random.NextInt64(1, long.MaxValue),
            };
            var value = new decimal((int)(uint)mantissa, (int)(uint)(mantissa >> 32), (int)(uint)(mantissa >> 64), random.Next(2) == 0, (byte)random.Next(0, 29));

            decimal.GetBits(value / 1.000000000000000000000000000000000m, expected);
            decimal.GetBits(ExactDecimal.Normalize(value), actual);

            Assert.True(expected.SequenceEqual(actual), $"{value} (scale {value.Scale}): {string.Join(",", expected.ToArray())} vs {string.Join(",", actual.ToArray())}");
        }
    }

    private static UInt128 Pow10(int exponent)
    {
        UInt128 result = 1;
        for (var i = 0; i < exponent; i++)
        {
            result *= 10;
        }

        return result;
    }

    [Theory]
    [InlineData("0.00000001", "0.00000001")]
    [InlineData("1234567890.12345678", "1234567890.12345678")]
    [InlineData("9999999999.99999999", "9999999999.99999999")]
    [InlineData("-9999999999.99999999", "-9999999999.99999999")]
    [InlineData("100.50000000", "100.5")]
    [InlineData("1.5e3", "1500")]
    [InlineData("1E+2", "100")]
    [InlineData("12345e-8", "0.00012345")]
    [InlineData("0.1000000000000000000000000000000", "0.1")]
    [InlineData("0", "0")]
    [InlineData("-0.0e5", "0")]
    public void TryParse_ExactText_ParsesWithoutRounding(string text, string expected)
    {
        Assert.True(ExactDecimal.TryParse(Encoding.UTF8.GetBytes(text), out var value, out var error), error);

        Assert.Equal(expected, ExactDecimal.Normalize(value).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("0.000000001", "decimal places")]
    [InlineData("1.0000000000000000000000000000001", "decimal places")]
    [InlineData("1e-9", "decimal places")]
    [InlineData("10000000000", "out of range")]
    [InlineData("1e10", "out of range")]
    [InlineData("1e99999999999", "out of range")]
    [InlineData("", "empty")]
    [InlineData("1.", "not a decimal")]
    [InlineData(".5", "not a decimal")]
    [InlineData("01", "not a decimal")]
    [InlineData("+1", "not a decimal")]
    [InlineData(" 1", "not a decimal")]
    [InlineData("1,5", "not a decimal")]
    [InlineData("NaN", "not a decimal")]
    [InlineData("0x10", "not a decimal")]
    public void TryParse_InexactOrMalformed_RefusesWithReason(string text, string reason)
    {
        Assert.False(ExactDecimal.TryParse(Encoding.UTF8.GetBytes(text), out _, out var error));

        Assert.Contains(reason, error);
    }
}
