using System.Globalization;
using System.Numerics;
using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>How a DuckDB result column is carried in a typed format (Arrow, Parquet); anything without an exact typed form is text.</summary>
internal enum QueryValueKind
{
    Text,
    Boolean,
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Decimal,
    Timestamp,
    Date,
}

/// <summary>
/// One result column mapped for the typed writers: decimals become <c>decimal128</c> (the trade money columns
/// <c>decimal128(18,8)</c>, see <see cref="DecimalOfValues"/>), <c>TIMESTAMP</c> (stored UTC) and <c>TIMESTAMPTZ</c> become microsecond UTC
/// times, and types without an exact typed form (HUGEINT, unsigned, lists, structs, intervals) are written as their text.
/// </summary>
internal sealed record QueryResultColumnKind(string Name, QueryValueKind Kind, int Precision = 0, int Scale = 0)
{
    /// <summary>Rows per Arrow record batch or Parquet row group: bounded memory per chunk, few enough chunks for fast readers.</summary>
    public const int ChunkRows = 65_536;

    /// <summary>.NET <see cref="decimal"/> holds 28 significant digits; a wider DuckDB decimal is declared at most this wide.</summary>
    private const int MaxDecimalPrecision = 28;

    /// <summary>The kinds of a result's columns; a decimal column whose type name carries no precision is sized from its values.</summary>
    public static IReadOnlyList<QueryResultColumnKind> Of(QueryResult result) =>
        [.. result.Columns.Select((column, index) => Of(column, result.Rows, index))];

    private static QueryResultColumnKind Of(QueryColumn column, IReadOnlyList<object?[]> rows, int index)
    {
        var type = column.Type.Trim().ToUpperInvariant();
        if (type.StartsWith("DECIMAL", StringComparison.Ordinal))
        {
            var (precision, scale) = TryDeclaredDecimal(type) ?? DecimalOfValues(rows, index);
            return new(column.Name, QueryValueKind.Decimal, precision, scale);
        }

        var kind = type switch
        {
            "BOOLEAN" => QueryValueKind.Boolean,
            "TINYINT" => QueryValueKind.Int8,
            "SMALLINT" => QueryValueKind.Int16,
            "INTEGER" => QueryValueKind.Int32,
            "BIGINT" => QueryValueKind.Int64,
            "FLOAT" => QueryValueKind.Float32,
            "DOUBLE" => QueryValueKind.Float64,
            "TIMESTAMP" or "TIMESTAMP WITH TIME ZONE" or "TIMESTAMPTZ" => QueryValueKind.Timestamp,
            "DATE" => QueryValueKind.Date,
            _ => QueryValueKind.Text,
        };
        return new(column.Name, kind);
    }

    /// <summary><c>DECIMAL(p,s)</c> when the type name says it (capped at what <see cref="decimal"/> holds).</summary>
    private static (int Precision, int Scale)? TryDeclaredDecimal(string type)
    {
        var open = type.IndexOf('(', StringComparison.Ordinal);
        if (open < 0)
        {
            return null;
        }

        var parts = type[(open + 1)..].TrimEnd(')').Split(',');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var precision)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var scale))
        {
            return null;
        }

        precision = Math.Min(precision, MaxDecimalPrecision);
        return (precision, Math.Min(scale, precision));
    }

    /// <summary>
    /// The driver names decimal columns without precision, so they are sized from the values: TradeStore's money type
    /// <c>DECIMAL(18,8)</c> when every value fits it (always so for the quantity and price columns, whose values carry
    /// scale 8), otherwise precision 28 with the largest scale seen (notionals, sums).
    /// </summary>
    private static (int Precision, int Scale) DecimalOfValues(IReadOnlyList<object?[]> rows, int index)
    {
        const decimal moneyLimit = 10_000_000_000m; // 10 integer digits
        var scale = 0;
        var fitsMoney = true;
        foreach (var row in rows)
        {
            if (row[index] is decimal value)
            {
                scale = Math.Max(scale, value.Scale);
                fitsMoney &= value.Scale <= 8 && Math.Abs(value) < moneyLimit;
            }
        }

        return fitsMoney ? (18, 8) : (MaxDecimalPrecision, Math.Min(scale, MaxDecimalPrecision));
    }

    /// <summary>A DuckDB time as UTC: <c>TIMESTAMP</c> holds UTC without a zone by the schema's rule.</summary>
    public static DateTimeOffset Utc(object value) => value switch
    {
        DateTimeOffset t => t.ToUniversalTime(),
        DateTime { Kind: DateTimeKind.Local } t => new DateTimeOffset(t.ToUniversalTime(), TimeSpan.Zero),
        DateTime t => new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)),
        _ => DateTimeOffset.Parse(Text(value), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
    };

    public static DateOnly Date(object value) => value switch
    {
        DateOnly d => d,
        DateTime t => DateOnly.FromDateTime(t),
        _ => DateOnly.Parse(Text(value), CultureInfo.InvariantCulture),
    };

    /// <summary>The invariant text of a value that has no typed column (the same forms the JSON answer uses).</summary>
    public static string Text(object value) => value switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        DateTime t => t.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + (t.Kind == DateTimeKind.Local ? "" : "Z"),
        DateTimeOffset t => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
        BigInteger i => i.ToString(CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        System.Collections.IDictionary map => "{" + string.Join(", ", map.Keys.Cast<object>().Select(k => $"{Text(k)}: {(map[k] is { } v ? Text(v) : "NULL")}")) + "}",
        System.Collections.IEnumerable items => "[" + string.Join(", ", items.Cast<object?>().Select(v => v is null ? "NULL" : Text(v))) + "]",
        _ => value.ToString() ?? "",
    };
}
