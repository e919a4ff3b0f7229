using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TradeStore.Client;

/// <summary>The wire's JSON: camelCase, nulls left out (the server refuses fields a command does not take), decimals as exact JSON numbers.</summary>
internal static class TradeStoreJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    };

    /// <summary>A query value typed by its column (<see cref="QueryValueTypes.Of"/>); decimals are read from the exact digits, never through double.</summary>
    public static object? QueryValue(JsonElement value, QueryValueType type)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return type switch
        {
            QueryValueType.Decimal => Decimal(value),
            QueryValueType.Timestamp when value.ValueKind == JsonValueKind.String => Timestamp(value.GetString()!),
            QueryValueType.Date when value.ValueKind == JsonValueKind.String => Date(value.GetString()!),
            QueryValueType.Integer when value.ValueKind == JsonValueKind.Number => value.GetInt64(),
            QueryValueType.UnsignedInteger when value.ValueKind == JsonValueKind.Number => value.GetUInt64(),
            QueryValueType.HugeInteger when value.ValueKind == JsonValueKind.Number => Int128.Parse(value.GetRawText(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
            QueryValueType.UnsignedHugeInteger when value.ValueKind == JsonValueKind.Number => UInt128.Parse(value.GetRawText(), NumberStyles.None, CultureInfo.InvariantCulture),
            QueryValueType.Float when value.ValueKind == JsonValueKind.Number => value.GetDouble(),
            QueryValueType.Float when value.ValueKind == JsonValueKind.String => NonFinite(value.GetString()!),
            QueryValueType.Boolean when value.ValueKind is JsonValueKind.True or JsonValueKind.False => value.GetBoolean(),
            _ => value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText(),
        };
    }

    /// <summary>
    /// A decimal as <see cref="decimal"/> whenever it holds the exact digits. The server sends a column declared wider than
    /// 28 digits (<c>sum()</c> of a money column is <c>DECIMAL(38,8)</c>) as JSON strings; most of its values still fit
    /// .NET's decimal exactly and are parsed. A value with more significant digits than <see cref="decimal"/> holds would be
    /// rounded by parsing, so it stays the <see cref="string"/> of its exact digits. Trailing zeros of the column's scale
    /// that do not fit (<c>8000000000000.5000000000000000</c>, a <c>DECIMAL(38,16)</c> total past 7.9e12) are no digit
    /// lost: that value is a <see cref="decimal"/> with the scale that fits.
    /// </summary>
    private static object Decimal(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            return decimal.Parse(value.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        var text = value.GetString()!;
        return decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var parsed)
            && WithoutTrailingZeros(parsed.ToString(CultureInfo.InvariantCulture)).SequenceEqual(WithoutTrailingZeros(text))
                ? parsed
                : text;
    }

    /// <summary>A decimal's text without the zeros that end its fraction (and a bare point): the same value either way.</summary>
    private static ReadOnlySpan<char> WithoutTrailingZeros(string text) =>
        text.Contains('.', StringComparison.Ordinal) ? text.AsSpan().TrimEnd('0').TrimEnd('.') : text;

    /// <summary>ISO 8601 UTC as <see cref="DateTimeOffset"/>; a time without a calendar form (<c>infinity</c>) stays DuckDB's text.</summary>
    private static object Timestamp(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time) ? time : text;

    /// <summary>
    /// <c>NaN</c>, <c>Infinity</c> or <c>-Infinity</c>, which JSON has no number for (the server sends them as strings), as
    /// the <see cref="double"/> they name, as the Python client gives <c>float</c>; any other text stays as sent.
    /// </summary>
    private static object NonFinite(string text) => text switch
    {
        "NaN" => double.NaN,
        "Infinity" => double.PositiveInfinity,
        "-Infinity" => double.NegativeInfinity,
        _ => text,
    };

    /// <summary><c>yyyy-MM-dd</c> as <see cref="DateOnly"/>; a date without a calendar form (<c>infinity</c>, a year BC) stays DuckDB's text.</summary>
    private static object Date(string text) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date : text;
}
