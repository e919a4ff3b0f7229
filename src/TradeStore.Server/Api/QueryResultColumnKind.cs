using System.Globalization;
using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>How a DuckDB result column is carried in a typed format (Arrow, Parquet); anything without an exact typed form is text.</summary>
internal enum TypedValueKind
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
/// One result column mapped for the typed writers: decimals become <c>decimal128</c> with DuckDB's declared precision
/// and scale (the trade money columns are <c>DECIMAL(18,8)</c>), <c>TIMESTAMP</c> (stored UTC) and <c>TIMESTAMPTZ</c>
/// become microsecond UTC times, dates are dates; types without an exact typed form (HUGEINT, unsigned, decimals wider
/// than .NET's, lists, structs, intervals) are written as the same text the CSV answer carries (nested values as JSON).
/// </summary>
internal sealed record QueryResultColumnKind(string Name, TypedValueKind Kind, int Precision = 0, int Scale = 0)
{
    /// <summary>Most rows per Arrow record batch or Parquet row group: bounded memory per chunk, few enough chunks for fast readers.</summary>
    public const int ChunkRows = 65_536;

    /// <summary>Most (estimated) bytes per Arrow record batch or Parquet row group, so wide rows do not make huge chunks.</summary>
    public const long ChunkBytes = 8L << 20;

    /// <summary>The typed form of each column the sandbox reports.</summary>
    public static IReadOnlyList<QueryResultColumnKind> Of(IReadOnlyList<QueryColumn> columns) => [.. columns.Select(Of)];

    private static QueryResultColumnKind Of(QueryColumn column)
    {
        var type = column.Type;
        if (column.Kind == QueryValueKind.Native && type.StartsWith("DECIMAL(", StringComparison.Ordinal))
        {
            // The sandbox reads a DECIMAL natively only when .NET's decimal holds it exactly (width ≤ 28).
            var parts = type[8..^1].Split(',');
            return new(column.Name, TypedValueKind.Decimal,
                int.Parse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture), int.Parse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture));
        }

        var kind = (column.Kind, type) switch
        {
            (QueryValueKind.Native, "BOOLEAN") => TypedValueKind.Boolean,
            (QueryValueKind.Native, "TINYINT") => TypedValueKind.Int8,
            (QueryValueKind.Native, "SMALLINT") => TypedValueKind.Int16,
            (QueryValueKind.Native, "INTEGER") => TypedValueKind.Int32,
            (QueryValueKind.Native, "BIGINT") => TypedValueKind.Int64,
            (QueryValueKind.Native, "FLOAT") => TypedValueKind.Float32,
            (QueryValueKind.Native, "DOUBLE") => TypedValueKind.Float64,
            (QueryValueKind.Timestamp, _) => TypedValueKind.Timestamp,
            (QueryValueKind.Text, "DATE") => TypedValueKind.Date,
            _ => TypedValueKind.Text,
        };
        return new(column.Name, kind);
    }

    /// <summary>
    /// A timestamp as DuckDB wrote it in UTC (<c>2026-11-30 09:30:00.123456</c>). A value without a calendar form
    /// (<c>infinity</c>, a year before 1 or after 9999) has no typed form: the query is refused, naming the column, rather
    /// than answered with a wrong time.
    /// </summary>
    public static DateTimeOffset Utc(QueryRows rows, int column)
    {
        var text = rows.Text(column);
        var iso = QueryValueText.Timestamp(text); // ISO 8601 with Z; DuckDB's own text when it has no calendar form
        var dot = iso.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0 && iso.EndsWith('Z') && iso.Length - dot - 2 > 7)
        {
            iso = string.Concat(iso.AsSpan(0, dot + 8), "Z"); // nanoseconds: .NET holds 7 digits, Arrow and Parquet get microseconds
        }

        return DateTimeOffset.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : throw NoTypedForm(rows, column, text);
    }

    /// <summary>A DATE as DuckDB wrote it (<c>2026-11-30</c>); like <see cref="Utc"/>, one without a calendar form is refused.</summary>
    public static DateOnly Date(QueryRows rows, int column)
    {
        var text = rows.Text(column);
        return DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? date
            : throw NoTypedForm(rows, column, text);
    }

    /// <summary>The text of a value without a typed column (the same form as in CSV).</summary>
    public static string Text(QueryRows rows, int column) => QueryValueText.Of(rows, column);

    private static QueryRefusedException NoTypedForm(QueryRows rows, int column, string text) =>
        new($"Column \"{rows.Columns[column].Name}\" holds {text}, which has no {rows.Columns[column].Type} form in Arrow or Parquet; cast it to VARCHAR or ask for JSON.");
}
