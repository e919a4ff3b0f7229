using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using TradeStore.Core.Trades;

namespace TradeStore.Server.Api;

/// <summary>
/// Reads quantities and prices from the raw UTF-8 token, a JSON number or a decimal string, through
/// <see cref="ExactDecimal"/>; writes the shortest exact JSON number (no trailing zeros, no exponent).
/// </summary>
public sealed class ExactDecimalConverter : JsonConverter<decimal>
{
    public override decimal Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType is not (JsonTokenType.Number or JsonTokenType.String))
        {
            throw new JsonException("must be a decimal number (a JSON number or a string such as \"100.25\").");
        }

        var length = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (length > 256)
        {
            throw new JsonException("is too long to be a decimal number.");
        }

        Span<byte> buffer = stackalloc byte[256];
        scoped ReadOnlySpan<byte> text;
        if (reader.TokenType == JsonTokenType.String)
        {
            text = buffer[..reader.CopyString(buffer)];
        }
        else if (reader.HasValueSequence)
        {
            reader.ValueSequence.CopyTo(buffer);
            text = buffer[..(int)length];
        }
        else
        {
            text = reader.ValueSpan;
        }

        return ExactDecimal.TryParse(text, out var value, out var error) ? value : throw new JsonException(error);
    }

    public override void Write(Utf8JsonWriter writer, decimal value, JsonSerializerOptions options) => WriteValue(writer, value);

    /// <summary>Writes <paramref name="value"/> as the serializer does, for writers that skip it (<see cref="TradeJson"/>).</summary>
    public static void WriteValue(Utf8JsonWriter writer, decimal value) => writer.WriteNumberValue(ExactDecimal.Normalize(value));
}

/// <summary>
/// Times travel as ISO 8601 strings. Reading requires an explicit zone (<c>Z</c> or <c>±hh:mm</c>): a time
/// without one is ambiguous, so it is refused rather than guessed. Writing is always UTC with microseconds
/// (<c>2026-01-02T03:04:05.123456Z</c>), the precision every store keeps (<see cref="Timestamps"/>).
/// </summary>
public sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
{
    private static readonly SearchValues<char> ZoneMarkers = SearchValues.Create("Zz+-");

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String || !reader.TryGetDateTimeOffset(out var value))
        {
            throw new JsonException(reader.TokenType == JsonTokenType.String && NoSuchOffset(reader.GetString()!) is { } offset
                ? $"has the offset {offset}, which no zone has: offsets run from -14:00 to +14:00."
                : reader.TokenType == JsonTokenType.String && BeyondRangeByItsOffset(reader.GetString()!)
                ? "must be a UTC time between 1970 and 9999: this one is a valid time, but its offset moves it past the year 9999 or before the year 1."
                : "must be an ISO 8601 time with a zone, for example \"2026-01-02T03:04:05.123456Z\".");
        }

        var text = reader.GetString()!;
        var time = text.IndexOfAny(['T', 't', ' ']);
        if (time < 0 || text.AsSpan(time).IndexOfAny(ZoneMarkers) < 0)
        {
            throw new JsonException("must name its zone (\"Z\" or an offset such as \"+01:00\"); a time without one is ambiguous.");
        }

        return value;
    }

    /// <summary>
    /// Whether <paramref name="text"/> is a well-formed time whose offset alone takes it out of what a
    /// <see cref="DateTimeOffset"/> can hold, such as <c>9999-12-31T23:59:59-14:00</c>: the same time read as UTC parses.
    /// </summary>
    internal static bool BeyondRangeByItsOffset(string text) =>
        NoSuchOffset(text) is null && ParsesAsUtc(text);

    /// <summary>
    /// The offset of <paramref name="text"/> when it is a well-formed time whose <c>±hh:mm</c> offset no zone has (beyond
    /// ±14:00, or 60 minutes or more, such as <c>+15:00</c>): <see langword="null"/> otherwise. Such a time is refused by
    /// the parser like any malformed one; naming the offset tells the client which part to fix.
    /// </summary>
    internal static string? NoSuchOffset(string text)
    {
        if (!ParsesAsUtc(text)
            || !int.TryParse(text.AsSpan(text.Length - 5, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var hours)
            || !int.TryParse(text.AsSpan(text.Length - 2, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var minutes))
        {
            return null;
        }

        return minutes > 59 || (hours * 60) + minutes > 14 * 60 ? text[^6..] : null;
    }

    /// <summary>Whether <paramref name="text"/> ends in a <c>±hh:mm</c> offset and parses with <c>Z</c> in its place.</summary>
    private static bool ParsesAsUtc(string text) =>
        text.Length > 6 && text[^6] is '+' or '-' && text[^3] == ':'
        && DateTimeOffset.TryParse(string.Concat(text.AsSpan(0, text.Length - 6), "Z"), CultureInfo.InvariantCulture, DateTimeStyles.None, out _);

    /// <summary>Length of the written form, <c>2026-01-02T03:04:05.123456Z</c>.</summary>
    private const int FormattedLength = 27;

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) => WriteValue(writer, value);

    /// <summary>Writes <paramref name="value"/> as the serializer does, for writers that skip it (<see cref="TradeJson"/>).</summary>
    public static void WriteValue(Utf8JsonWriter writer, DateTimeOffset value)
    {
        Span<byte> utf8 = stackalloc byte[FormattedLength + 1];
        writer.WriteStringValue(FormatUtf8(value, utf8));
    }

    public static string Format(DateTimeOffset value)
    {
        Span<byte> utf8 = stackalloc byte[FormattedLength + 1];
        return Encoding.ASCII.GetString(FormatUtf8(value, utf8));
    }

    /// <summary>
    /// The UTF-8 form of <paramref name="value"/> in <paramref name="buffer"/> (28 bytes at least). By design the
    /// round-trip format ("O", seven fractional digits, formatted without a format string to parse), cut to six:
    /// a custom format string took 1.8 % of the server's CPU when every event of the change feed went out in JSON.
    /// Both truncate, so the result is the same as "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'".
    /// </summary>
    private static ReadOnlySpan<byte> FormatUtf8(DateTimeOffset value, Span<byte> buffer)
    {
        if (!value.UtcDateTime.TryFormat(buffer, out var written, "O", CultureInfo.InvariantCulture) || written != FormattedLength + 1)
        {
            throw new FormatException($"The time {value:O} has no round-trip form of {FormattedLength + 1} characters.");
        }

        buffer[FormattedLength - 1] = (byte)'Z';
        return buffer[..FormattedLength];
    }
}
