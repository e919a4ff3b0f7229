using System.Globalization;
using System.Text.Json;

namespace TradeStore.ClickHouse.Rows;

/// <summary>
/// Reads values from <c>JSONEachRow</c> output. ClickHouse quotes 64-bit integers (<c>"seq":"42"</c>) and,
/// depending on version and settings, may quote decimals; both spellings are accepted, and decimals are
/// parsed from their text, never through <see cref="double"/>.
/// </summary>
public static class ClickHouseJson
{
    public static long Int64(JsonElement row, string name)
    {
        var value = row.GetProperty(name);
        return value.ValueKind == JsonValueKind.String
            ? long.Parse(value.GetString()!, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)
            : value.GetInt64();
    }

    public static decimal Decimal(JsonElement row, string name) => ParseDecimal(row.GetProperty(name));

    public static decimal? NullableDecimal(JsonElement row, string name) =>
        row.GetProperty(name) is { ValueKind: not JsonValueKind.Null } value ? ParseDecimal(value) : null;

    public static string String(JsonElement row, string name) => row.GetProperty(name).GetString()!;

    public static string? NullableString(JsonElement row, string name) =>
        row.GetProperty(name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    private static decimal ParseDecimal(JsonElement value) => value.ValueKind == JsonValueKind.String
        ? decimal.Parse(value.GetString()!, NumberStyles.Number, CultureInfo.InvariantCulture)
        : decimal.Parse(value.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture);
}
