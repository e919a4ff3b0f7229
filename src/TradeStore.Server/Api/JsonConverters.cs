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
/// Times travel as ISO 8601 strings. Reading takes what <see cref="IsoTime"/> takes, which requires an explicit zone
/// (<c>Z</c> or <c>±hh:mm</c>): a time without one is ambiguous, so it is refused rather than guessed; a refusal is a
/// <see cref="JsonException"/> with its <see cref="IsoTime.Reason"/>, which <see cref="Problems.FromJson"/> prefixes with
/// the property's name. Writing is always UTC with microseconds (<c>2026-01-02T03:04:05.123456Z</c>), the precision every
/// store keeps (<see cref="Timestamps"/>).
/// </summary>
public sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException(IsoTime.Reason(IsoTimeRefusal.NotIso8601, "") + ".");
        }

        var text = reader.GetString()!;
        return IsoTime.TryParse(text, out var value, out var refusal) ? value : throw new JsonException(IsoTime.Reason(refusal, text) + ".");
    }

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
