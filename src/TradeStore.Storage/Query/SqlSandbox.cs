using System.Diagnostics;
using System.Text.Json;
using DuckDB.NET.Data;

namespace TradeStore.Storage.Query;

/// <summary>The columns and rows of one sandboxed query; <see cref="Truncated"/> when it had more rows than the limit.</summary>
public sealed record QueryResult(IReadOnlyList<QueryColumn> Columns, IReadOnlyList<object?[]> Rows, bool Truncated, TimeSpan Duration);

/// <summary>A result column: its name and DuckDB type.</summary>
public sealed record QueryColumn(string Name, string Type);

/// <summary>The statement was refused before it ran, or DuckDB refused it; the message is safe to show the caller.</summary>
public sealed class QueryRefusedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The query ran past its time limit and was interrupted.</summary>
public sealed class QueryTimeoutException(TimeSpan timeout) : Exception($"The query ran longer than {timeout}.")
{
    public TimeSpan Timeout { get; } = timeout;
}

/// <summary>
/// Runs untrusted read-only SQL over the trade tables (DuckDB's "Securing DuckDB" guidance): one SELECT only,
/// checked by DuckDB's own parser; a read-only transaction on its own connection; a row limit; and a timeout
/// that interrupts the query. <see cref="LockDown"/> must have run first.
/// </summary>
public sealed class SqlSandbox(DuckDbDatabase database, int maxRows, TimeSpan timeout)
{
    /// <summary>
    /// Turns off file and network access and locks the configuration for the whole database instance.
    /// By design instance-wide: connections to one file share one instance, so no per-connection setting
    /// exists. Measured: the writer's Appender, INSERT, UPDATE and CHECKPOINT keep working afterwards, so
    /// this runs after migrations and before anything listens.
    /// </summary>
    public static void LockDown(DuckDbDatabase database)
    {
        using var connection = database.OpenConnection();
        foreach (var statement in (string[])["SET enable_external_access = false", "SET allow_community_extensions = false", "SET lock_configuration = true"])
        {
            using var command = connection.CreateCommand();
            command.CommandText = statement;
            command.ExecuteNonQuery();
        }
    }

    /// <exception cref="QueryRefusedException">Not exactly one SELECT, or DuckDB refused it (a permission error, a bad column).</exception>
    /// <exception cref="QueryTimeoutException">It ran past the time limit.</exception>
    public QueryResult Run(string sql, CancellationToken cancellationToken)
    {
        using var connection = database.OpenConnection();
        RequireSingleSelect(connection, sql);
        Execute(connection, "BEGIN TRANSACTION READ ONLY");
        try
        {
            return Read(connection, sql, cancellationToken);
        }
        finally
        {
            Execute(connection, "ROLLBACK");
        }
    }

    private QueryResult Read(DuckDBConnection connection, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        var timedOut = 0;
        var started = Stopwatch.GetTimestamp();
        using var timer = new Timer(_ =>
        {
            Interlocked.Exchange(ref timedOut, 1);
            command.Cancel();
        }, null, timeout, System.Threading.Timeout.InfiniteTimeSpan);
        using var aborted = cancellationToken.Register(command.Cancel);
        try
        {
            using var reader = command.ExecuteReader();
            var columns = Enumerable.Range(0, reader.FieldCount).Select(i => new QueryColumn(reader.GetName(i), reader.GetDataTypeName(i))).ToList();
            var rows = new List<object?[]>();
            var truncated = false;
            while (reader.Read())
            {
                if (rows.Count == maxRows)
                {
                    truncated = true;
                    break;
                }

                var row = new object?[reader.FieldCount];
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                }

                rows.Add(row);
            }

            return new QueryResult(columns, rows, truncated, Stopwatch.GetElapsedTime(started));
        }
        catch (Exception ex) when (Volatile.Read(ref timedOut) == 1 && ex is OperationCanceledException or DuckDBException)
        {
            throw new QueryTimeoutException(timeout);
        }
        catch (DuckDBException ex)
        {
            throw new QueryRefusedException(ex.Message.Split('\n')[0].Trim(), ex);
        }
    }

    /// <summary>
    /// DuckDB's parser decides: <c>json_serialize_sql</c> answers <c>error: true</c> for anything but one SELECT
    /// (COPY, ATTACH, PRAGMA, SET, DDL, DML, several statements). No regular expressions.
    /// </summary>
    private static void RequireSingleSelect(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT json_serialize_sql(CAST($1 AS VARCHAR))";
        command.Parameters.Add(new DuckDBParameter(sql));
        var json = (string)command.ExecuteScalar()!;
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.GetProperty("error").GetBoolean())
        {
            var message = root.TryGetProperty("error_message", out var m) ? m.GetString() : null;
            throw new QueryRefusedException($"Only one read-only SELECT (or WITH … SELECT) statement is accepted: {message ?? "refused by the parser"}.");
        }

        if (root.GetProperty("statements").GetArrayLength() != 1)
        {
            throw new QueryRefusedException("Send exactly one SELECT statement.");
        }
    }

    private static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
