using System.Globalization;

namespace TradeStore.Client;

/// <summary>How <see cref="TradeStoreClient.QueryAsync(string, CancellationToken)"/> types the JSON values of one result column.</summary>
internal enum QueryValueType
{
    /// <summary>Text, and every type without a .NET form here (lists, structs and maps keep their JSON text).</summary>
    Text,
    Decimal,
    Integer,

    /// <summary><c>UBIGINT</c>: <see cref="ulong"/>, since its upper half does not fit <see cref="long"/>.</summary>
    UnsignedInteger,

    /// <summary><c>HUGEINT</c>: <see cref="Int128"/>, exactly DuckDB's 128-bit range.</summary>
    HugeInteger,

    /// <summary><c>UHUGEINT</c>: <see cref="UInt128"/>.</summary>
    UnsignedHugeInteger,
    Float,
    Boolean,
    Timestamp,
    Date,
}

/// <summary>
/// The one place the client classifies a DuckDB column type (as the server reports it: <c>DECIMAL(18,8)</c>,
/// <c>TIMESTAMP WITH TIME ZONE</c>, <c>DECIMAL(18,8)[]</c>), decided once per column. Names are matched whole, never
/// by prefix: <c>DECIMAL(18,8)[]</c> is a list of decimals, whose value is a JSON array, not a decimal.
/// </summary>
internal static class QueryValueTypes
{
    private const string DecimalPrefix = "DECIMAL(";

    public static QueryValueType Of(string duckDbType)
    {
        var type = duckDbType.ToUpperInvariant();
        if (IsScalarDecimal(type))
        {
            return QueryValueType.Decimal;
        }

        return type switch
        {
            "TINYINT" or "SMALLINT" or "INTEGER" or "BIGINT" or "UTINYINT" or "USMALLINT" or "UINTEGER" => QueryValueType.Integer,
            "UBIGINT" => QueryValueType.UnsignedInteger,
            "HUGEINT" => QueryValueType.HugeInteger,
            "UHUGEINT" => QueryValueType.UnsignedHugeInteger,
            "FLOAT" or "DOUBLE" => QueryValueType.Float,
            "BOOLEAN" => QueryValueType.Boolean,
            "TIMESTAMP" or "TIMESTAMPTZ" or "TIMESTAMP WITH TIME ZONE" or "TIMESTAMP_S" or "TIMESTAMP_MS" or "TIMESTAMP_NS" => QueryValueType.Timestamp,
            "DATE" => QueryValueType.Date,
            _ => QueryValueType.Text,
        };
    }

    /// <summary>Exactly <c>DECIMAL(p,s)</c>: two unsigned integers in the parentheses and nothing after them.</summary>
    private static bool IsScalarDecimal(string type)
    {
        if (!type.StartsWith(DecimalPrefix, StringComparison.Ordinal) || !type.EndsWith(')'))
        {
            return false;
        }

        var inside = type.AsSpan(DecimalPrefix.Length, type.Length - DecimalPrefix.Length - 1);
        var comma = inside.IndexOf(',');
        return comma > 0
            && int.TryParse(inside[..comma], NumberStyles.None, CultureInfo.InvariantCulture, out _)
            && int.TryParse(inside[(comma + 1)..].Trim(' '), NumberStyles.None, CultureInfo.InvariantCulture, out _);
    }
}
