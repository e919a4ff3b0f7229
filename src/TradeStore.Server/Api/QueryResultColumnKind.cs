using System.Globalization;
using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>How a DuckDB result column is carried in Parquet; anything without an exact typed form is text.</summary>
internal enum TypedValueKind
{
    Text,
    Boolean,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Float32,
    Float64,
    Decimal,
    Timestamp,
    Date,
}

/// <summary>
/// One result column mapped for the typed writers: decimals become <c>decimal128</c> with DuckDB's declared precision
/// and scale (the trade money columns are <c>DECIMAL(18,8)</c>), <c>TIMESTAMP</c> (stored UTC) and <c>TIMESTAMPTZ</c>
/// become microsecond UTC times, dates are dates; unsigned integers keep their width; types without an exact typed form (HUGEINT, decimals wider
/// than .NET's, lists, structs, intervals) are written as the same text the CSV answer carries (nested values as JSON).
/// </summary>
internal sealed record QueryResultColumnKind(string Name, TypedValueKind Kind, int Precision = 0, int Scale = 0)
{
    /// <summary>Most rows per Parquet row group: bounded memory per chunk, few enough chunks for fast readers.</summary>
    public const int ChunkRows = 65_536;

    /// <summary>Most (estimated) bytes per Parquet row group, so wide rows do not make huge chunks.</summary>
    public const long ChunkBytes = 8L << 20;

    /// <summary>The typed form of each column the sandbox reports.</summary>
    public static IReadOnlyList<QueryResultColumnKind> Of(IReadOnlyList<QueryColumn> columns) => [.. columns.Select(Of)];

    private static QueryResultColumnKind Of(QueryColumn column)
    {
        var type = column.Type;
        if (column.Kind == QueryValueKind.Native && DecimalType.TryParse(type, out var decimalType))
        {
            // The sandbox reads a DECIMAL natively only when .NET's decimal holds it exactly (width ≤ 28).
            return new(column.Name, TypedValueKind.Decimal, decimalType.Precision, decimalType.Scale);
        }

        var kind = (column.Kind, type) switch
        {
            (QueryValueKind.Native, "BOOLEAN") => TypedValueKind.Boolean,
            (QueryValueKind.Native, "TINYINT") => TypedValueKind.Int8,
            (QueryValueKind.Native, "SMALLINT") => TypedValueKind.Int16,
            (QueryValueKind.Native, "INTEGER") => TypedValueKind.Int32,
            (QueryValueKind.Native, "BIGINT") => TypedValueKind.Int64,
            (QueryValueKind.Native, "UTINYINT") => TypedValueKind.UInt8,
            (QueryValueKind.Native, "USMALLINT") => TypedValueKind.UInt16,
            (QueryValueKind.Native, "UINTEGER") => TypedValueKind.UInt32,
            (QueryValueKind.Native, "UBIGINT") => TypedValueKind.UInt64,
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
        if (TryParseTicks(text, out var ticks))
        {
            return new DateTimeOffset(DateTime.UnixEpoch.Ticks + ticks, TimeSpan.Zero);
        }

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

    /// <summary>
    /// DuckDB's text of a timestamp with a four-digit year, <c>yyyy-MM-dd HH:mm:ss[.f…]</c> (up to 9 fraction digits, the
    /// 8th and 9th dropped), as 100 ns ticks since 1970-01-01; <see langword="false"/> for any other form, left to the
    /// general parser. The fast path of every time value in Parquet answers.
    /// </summary>
    internal static bool TryParseTicks(ReadOnlySpan<char> text, out long ticks)
    {
        ticks = 0;
        if (text.Length < 19 || text[4] != '-' || text[7] != '-' || text[10] != ' ' || text[13] != ':' || text[16] != ':'
            || !Digits(text, 0, 4, out var year) || !Digits(text, 5, 2, out var month) || !Digits(text, 8, 2, out var day)
            || !Digits(text, 11, 2, out var hour) || !Digits(text, 14, 2, out var minute) || !Digits(text, 17, 2, out var second)
            || year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        long fraction = 0;
        if (text.Length > 19)
        {
            var digits = text.Length - 20;
            if (text[19] != '.' || digits is < 1 or > 9 || !Digits(text, 20, Math.Min(digits, 7), out var value))
            {
                return false;
            }

            for (var i = 27; i < text.Length; i++)
            {
                if (!char.IsAsciiDigit(text[i]))
                {
                    return false;
                }
            }

            fraction = value;
            for (var i = Math.Min(digits, 7); i < 7; i++)
            {
                fraction *= 10;
            }
        }

        var days = new DateOnly(year, month, day).DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;
        ticks = days * TimeSpan.TicksPerDay + hour * TimeSpan.TicksPerHour + minute * TimeSpan.TicksPerMinute + second * TimeSpan.TicksPerSecond + fraction;
        return true;
    }

    private static bool Digits(ReadOnlySpan<char> text, int start, int count, out int value)
    {
        value = 0;
        for (var i = start; i < start + count; i++)
        {
            var digit = text[i] - '0';
            if ((uint)digit > 9)
            {
                return false;
            }

            value = value * 10 + digit;
        }

        return true;
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
