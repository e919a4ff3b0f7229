using System.Globalization;

namespace TradeStore.Core.Diagnostics;

/// <summary>Reads durations as operators write them: <c>250ms</c>, <c>5s</c>, <c>2m</c>, <c>1h</c>, a bare number of seconds, or <c>hh:mm:ss</c>.</summary>
public static class Durations
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        if (text.Contains(':', StringComparison.Ordinal))
        {
            return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
        }

        (string number, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) => (text[..^2], 0.001),
            _ when text.EndsWith('s') || text.EndsWith('S') => (text[..^1], 1),
            _ when text.EndsWith('m') || text.EndsWith('M') => (text[..^1], 60),
            _ when text.EndsWith('h') || text.EndsWith('H') => (text[..^1], 3600),
            _ => (text, 1),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) || amount < 0 || double.IsInfinity(amount) || amount * scale > TimeSpan.MaxValue.TotalSeconds)
        {
            return false;
        }

        value = TimeSpan.FromSeconds(amount * scale);
        return true;
    }

    /// <summary>A short human form (<c>250ms</c>, <c>1.5s</c>, <c>2m</c>) for help and logs.</summary>
    public static string Format(TimeSpan value) => value switch
    {
        _ when value < TimeSpan.FromSeconds(1) => $"{value.TotalMilliseconds.ToString("0.#", CultureInfo.InvariantCulture)}ms",
        _ when value < TimeSpan.FromMinutes(1) || value.TotalSeconds % 60 != 0 => $"{value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)}s",
        _ => $"{value.TotalMinutes.ToString("0.#", CultureInfo.InvariantCulture)}m",
    };
}
