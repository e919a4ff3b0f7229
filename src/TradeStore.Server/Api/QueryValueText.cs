using System.Globalization;
using System.Text.RegularExpressions;
using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>The text forms of query values shared by the result formats.</summary>
public static partial class QueryValueText
{
    /// <summary>
    /// A timestamp DuckDB wrote (in UTC) as ISO 8601 with microseconds (or DuckDB's nanoseconds) and <c>Z</c>:
    /// <c>2024-01-01 10:00:00.5</c> → <c>2024-01-01T10:00:00.500000Z</c>. Values without that calendar form
    /// (<c>infinity</c>, a year BC, a year past 9999) are DuckDB's own text.
    /// </summary>
    public static string Timestamp(string duckDb)
    {
        var match = CalendarTimestamp().Match(duckDb);
        if (!match.Success)
        {
            return duckDb;
        }

        var fraction = match.Groups[3].Success ? match.Groups[3].Value : "";
        return $"{match.Groups[1].Value}T{match.Groups[2].Value}.{fraction.PadRight(6, '0')}Z";
    }

    /// <summary>The text of a native value for text formats (CSV): invariant culture, <c>true</c>/<c>false</c>.</summary>
    public static string Native(object value) => value switch
    {
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>The text of any value of <paramref name="column"/> for text formats.</summary>
    public static string Of(QueryRows rows, int column) => rows.Columns[column].Kind switch
    {
        QueryValueKind.Native => Native(rows.Value(column)),
        QueryValueKind.Timestamp => Timestamp(rows.Text(column)),
        _ => rows.Text(column),
    };

    [GeneratedRegex(@"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?$", RegexOptions.CultureInvariant)]
    private static partial Regex CalendarTimestamp();
}
