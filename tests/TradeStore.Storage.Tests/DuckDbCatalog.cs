namespace TradeStore.Storage.Tests;

/// <summary>A text dump of the DuckDB catalog (tables, columns, constraints, indexes, views), to compare schemas exactly.</summary>
internal static class DuckDbCatalog
{
    public static string Dump(DuckDbDatabase database)
    {
        using var connection = database.OpenConnection();
        var lines = new List<string>();
        foreach (var query in new[]
        {
            "SELECT table_name, sql FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY table_name",
            "SELECT table_name, column_index, column_name, data_type, is_nullable, column_default FROM duckdb_columns() WHERE schema_name = 'main' ORDER BY table_name, column_index",
            "SELECT table_name, constraint_type, constraint_text, CAST(constraint_column_names AS VARCHAR) FROM duckdb_constraints() WHERE schema_name = 'main' ORDER BY ALL",
            "SELECT table_name, index_name, sql FROM duckdb_indexes() WHERE schema_name = 'main' ORDER BY ALL",
            "SELECT view_name, sql FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal ORDER BY view_name",
        })
        {
            using var command = connection.CreateCommand();
            command.CommandText = query;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                lines.Add(string.Join(" | ", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "NULL" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
            }
        }

        return string.Join('\n', lines);
    }

    public static IReadOnlyList<string> Tables(DuckDbDatabase database) =>
        Strings(database, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY table_name");

    /// <summary>The trade id of every journal event, in seq order: what a test compares with the trades it saw acknowledged.</summary>
    public static IReadOnlyList<string> JournalTradeIds(DuckDbDatabase database) =>
        Strings(database, "SELECT trade_id FROM trade_events ORDER BY seq");

    /// <summary>The first column of every row of <paramref name="sql"/>, as text.</summary>
    public static IReadOnlyList<string> Strings(DuckDbDatabase database, string sql)
    {
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }

    public static void Execute(DuckDbDatabase database, string sql)
    {
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
