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

    /// <summary>A query value typed by its DuckDB column type; decimals are read from the exact digits, never through double.</summary>
    public static object? QueryValue(JsonElement value, string type)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var upper = type.ToUpperInvariant();
        if (upper.StartsWith("DECIMAL", StringComparison.Ordinal) || upper.StartsWith("NUMERIC", StringComparison.Ordinal))
        {
            return decimal.Parse(value.GetRawText().Trim('"'), NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        return upper switch
        {
            "TINYINT" or "SMALLINT" or "INTEGER" or "BIGINT" or "UTINYINT" or "USMALLINT" or "UINTEGER" when value.ValueKind == JsonValueKind.Number => value.GetInt64(),
            "FLOAT" or "DOUBLE" when value.ValueKind == JsonValueKind.Number => value.GetDouble(),
            "BOOLEAN" when value.ValueKind is JsonValueKind.True or JsonValueKind.False => value.GetBoolean(),
            "TIMESTAMP" or "TIMESTAMP WITH TIME ZONE" or "TIMESTAMPTZ" when value.ValueKind == JsonValueKind.String =>
                DateTimeOffset.Parse(value.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
            _ => value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText(),
        };
    }
}
