using TradeStore.Core.Trades;

namespace TradeStore.Server.Api;

/// <summary>
/// Parses the text of a decimal number (JSON number grammar: <c>-12.5</c>, <c>1.5e3</c>) exactly into the
/// <c>DECIMAL(18,8)</c> domain of <see cref="Money"/>. By design it never goes through <see langword="double"/>
/// and never rounds: a value with more than <see cref="Money.Scale"/> significant decimals or more than 10
/// integer digits is refused, where <see cref="decimal.Parse(string)"/> would round 29+ digits silently.
/// </summary>
public static class ExactDecimal
{
    private const int MaxIntegerDigits = 10;
    private const int MaxTextLength = 64;

    /// <summary>Parses <paramref name="text"/> (UTF-8); on failure <paramref name="error"/> says why in words a client can act on.</summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out decimal value, out string? error)
    {
        value = 0m;
        error = null;
        if (text.Length is 0 or > MaxTextLength)
        {
            error = text.Length == 0 ? "is empty; expected a decimal number." : $"is longer than {MaxTextLength} characters.";
            return false;
        }

        var i = 0;
        var negative = false;
        if (text[0] == (byte)'-')
        {
            negative = true;
            i++;
        }

        // Significant digits (integer and fraction part together) without leading zeros.
        Span<byte> digits = stackalloc byte[MaxTextLength];
        var count = 0;
        var fractionDigits = 0;
        var intStart = i;
        while (i < text.Length && IsDigit(text[i]))
        {
            Push(text[i++], digits, ref count);
        }

        var intLength = i - intStart;
        if (intLength == 0 || (intLength > 1 && text[intStart] == (byte)'0'))
        {
            return Fail(out error);
        }

        if (i < text.Length && text[i] == (byte)'.')
        {
            i++;
            var fracStart = i;
            while (i < text.Length && IsDigit(text[i]))
            {
                Push(text[i++], digits, ref count);
            }

            fractionDigits = i - fracStart;
            if (fractionDigits == 0)
            {
                return Fail(out error);
            }
        }

        var exponent = 0;
        if (i < text.Length && (text[i] == (byte)'e' || text[i] == (byte)'E'))
        {
            i++;
            var exponentNegative = false;
            if (i < text.Length && (text[i] == (byte)'+' || text[i] == (byte)'-'))
            {
                exponentNegative = text[i] == (byte)'-';
                i++;
            }

            var expStart = i;
            while (i < text.Length && IsDigit(text[i]))
            {
                // Saturate: anything beyond a few dozen is out of range either way.
                exponent = Math.Min((exponent * 10) + (text[i++] - (byte)'0'), 10_000);
            }

            if (i == expStart)
            {
                return Fail(out error);
            }

            exponent = exponentNegative ? -exponent : exponent;
        }

        if (i != text.Length)
        {
            return Fail(out error);
        }

        // value = digits × 10^-(scale); drop trailing zeros that only widen the scale.
        var scale = fractionDigits - exponent;
        while (count > 0 && scale > 0 && digits[count - 1] == 0)
        {
            count--;
            scale--;
        }

        if (count == 0)
        {
            return true; // zero, whatever its spelling ("0.000", "-0e5")
        }

        if (scale > Money.Scale)
        {
            error = $"has more than {Money.Scale} decimal places; the smallest unit is 0.00000001.";
            return false;
        }

        var integerDigits = count - scale; // scale may be negative: trailing zeros to append
        if (integerDigits > MaxIntegerDigits)
        {
            error = $"is out of range; the largest magnitude is {Money.Max}.";
            return false;
        }

        ulong mantissa = 0;
        for (var d = 0; d < count; d++)
        {
            mantissa = (mantissa * 10) + digits[d];
        }

        for (; scale < 0; scale++)
        {
            mantissa *= 10;
        }

        value = new decimal((int)(uint)mantissa, (int)(uint)(mantissa >> 32), 0, negative, (byte)scale);
        return true;
    }

    /// <summary>The shortest exact text of <paramref name="value"/>: no trailing zeros, never an exponent.</summary>
    /// <remarks>
    /// By design a decimal division only when there is a trailing zero to strip: the division was 4 % of the server's
    /// CPU while it answered lists (three per trade), and most values have none. The result is the division's, bit for
    /// bit (<c>ExactDecimalTests</c> compares them over random values of every scale and sign).
    /// </remarks>
    public static decimal Normalize(decimal value)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        var (low, middle, high) = ((uint)bits[0], (uint)bits[1], (uint)bits[2]);
        var scale = (bits[3] >> 16) & 0xFF;
        // The 96-bit mantissa ends in 0 when it is even and divisible by 5; 2^32 = 1 (mod 5), so its remainder by 5 is
        // that of the sum of its three 32-bit words.
        var endsInZero = (low & 1) == 0 && ((ulong)low + middle + high) % 5 == 0;
        return scale == 0 || !endsInZero ? value : value / 1.000000000000000000000000000000000m;
    }

    private static void Push(byte digit, Span<byte> digits, ref int count)
    {
        if (count == 0 && digit == (byte)'0')
        {
            return; // a leading zero is not significant
        }

        digits[count++] = (byte)(digit - (byte)'0');
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private static bool Fail(out string error)
    {
        error = "is not a decimal number; expected a JSON number or a string such as \"100.25\".";
        return false;
    }
}
