using System.Globalization;
using System.Text;

namespace TradeStore.Storage.Query;

/// <summary>How a result column's values reach the caller, so every DuckDB type can be written without loss.</summary>
public enum QueryValueKind
{
    /// <summary>The reader's .NET value (booleans, integers, floating point, decimals that fit <see cref="decimal"/>, text, UUIDs).</summary>
    Native,

    /// <summary>DuckDB's own text of the value (dates, times, intervals, enums, wide decimals) or base64 of a blob.</summary>
    Text,

    /// <summary>DuckDB's text of a timestamp, in UTC; ISO 8601 when it has a calendar form, else as DuckDB writes it (<c>infinity</c>).</summary>
    Timestamp,

    /// <summary>A JSON document of a nested value (list, array, struct, map, union) made by DuckDB's <c>to_json</c>.</summary>
    Json,
}

/// <summary>A result column: its name, DuckDB type and how its values are read.</summary>
public sealed record QueryColumn(string Name, string Type, QueryValueKind Kind);

/// <summary>
/// Plans how each result column is read. DuckDB.NET cannot turn every DuckDB value into a .NET one (an infinite
/// date, a year before 1, <c>TIME '24:00:00'</c>, a DECIMAL(38, 32), a union), so such columns are converted by
/// DuckDB itself in an outer SELECT over the checked statement, by position (<c>#n</c>), keeping each name.
/// </summary>
public static class QueryColumns
{
    /// <summary>The largest DECIMAL width .NET's <see cref="decimal"/> holds exactly.</summary>
    private const int MaxNativeDecimalWidth = 28;

    /// <summary>The column plan for a DuckDB column type as <c>DESCRIBE</c> spells it.</summary>
    public static QueryColumn Plan(string name, string type) => new(name, type, KindOf(type));

    /// <summary>The outer SELECT reading <paramref name="sql"/> with each column converted as planned.</summary>
    public static string Wrap(string sql, IReadOnlyList<QueryColumn> columns) => Wrap(sql, columns, Expression);

    /// <summary>The outer SELECT reading <paramref name="sql"/> with each column through <paramref name="expression"/> (of the column and its position, <c>#n</c>).</summary>
    public static string Wrap(string sql, IReadOnlyList<QueryColumn> columns, Func<QueryColumn, string, string> expression)
    {
        var select = new StringBuilder("SELECT ");
        for (var i = 0; i < columns.Count; i++)
        {
            var position = "#" + (i + 1).ToString(CultureInfo.InvariantCulture);
            var column = columns[i];
            select.Append(i == 0 ? "" : ", ").Append(expression(column, position)).Append(" AS \"").Append(column.Name.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
        }

        return select.Append(" FROM (\n").Append(sql).Append("\n) AS tradestore_query").ToString();
    }

    /// <summary>How a column is read by its plan (<see cref="QueryColumn.Kind"/>): natively, or converted by DuckDB to text or JSON.</summary>
    public static string Expression(QueryColumn column, string position) => column.Kind switch
    {
        QueryValueKind.Native => position,
        QueryValueKind.Json => $"to_json({position})",
        QueryValueKind.Timestamp when column.Type.Contains("TIME ZONE", StringComparison.Ordinal) => $"CAST(timezone('UTC', {position}) AS VARCHAR)",
        _ when column.Type == "BLOB" => $"base64({position})",
        _ => $"CAST({position} AS VARCHAR)",
    };

    private static QueryValueKind KindOf(string type)
    {
        if (type.EndsWith(']') || type.StartsWith("STRUCT(", StringComparison.Ordinal) || type.StartsWith("MAP(", StringComparison.Ordinal)
            || type.StartsWith("UNION(", StringComparison.Ordinal) || type == "VARIANT")
        {
            return QueryValueKind.Json;
        }

        if (DecimalType.TryParse(type, out var decimalType))
        {
            return decimalType.Precision <= MaxNativeDecimalWidth ? QueryValueKind.Native : QueryValueKind.Text;
        }

        return type switch
        {
            "BOOLEAN" or "TINYINT" or "SMALLINT" or "INTEGER" or "BIGINT" or "HUGEINT" or "UTINYINT" or "USMALLINT" or "UINTEGER" or "UBIGINT"
                or "UHUGEINT" or "FLOAT" or "DOUBLE" or "VARCHAR" or "UUID" or "JSON" => QueryValueKind.Native,
            "TIMESTAMP" or "TIMESTAMP_S" or "TIMESTAMP_MS" or "TIMESTAMP_NS" or "TIMESTAMP WITH TIME ZONE" => QueryValueKind.Timestamp,
            _ => QueryValueKind.Text,
        };
    }
}
