using System.Globalization;
using DuckDB.NET.Data;

namespace TradeStore.Storage;

/// <summary>One number read with one statement: a count, a min or a max.</summary>
internal static class DuckDbScalar
{
    /// <summary>The first column of the first row as a whole number; 0 when it is NULL (a min or max of no rows).</summary>
    public static long Int64(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar() is { } value and not DBNull ? Convert.ToInt64(value, CultureInfo.InvariantCulture) : 0;
    }
}
