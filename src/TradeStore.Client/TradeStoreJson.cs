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
            // The server sends a decimal as a JSON string exactly when .NET's decimal cannot hold its digits: keep that text.
            return value.ValueKind == JsonValueKind.String
                ? value.GetString()
                : decimal.Parse(value.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        if (upper.StartsWith("TIMESTAMP", StringComparison.Ordinal) && value.ValueKind == JsonValueKind.String)
        {
            // ISO 8601 UTC; a time without a calendar form (infinity) stays DuckDB's text.
            return DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
                ? time
                : value.GetString();
        }

        return upper switch
        {
            "TINYINT" or "SMALLINT" or "INTEGER" or "BIGINT" or "UTINYINT" or "USMALLINT" or "UINTEGER" when value.ValueKind == JsonValueKind.Number => value.GetInt64(),
            "FLOAT" or "DOUBLE" when value.ValueKind == JsonValueKind.Number => value.GetDouble(),
            "BOOLEAN" when value.ValueKind is JsonValueKind.True or JsonValueKind.False => value.GetBoolean(),
            _ => value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText(),
        };
    }
}
