using Apache.Arrow.Ipc;
using System.Text.Json;
using DuckDB.NET.Data;
using DuckDB.NET.Native;

namespace TradeStore.Storage.Query;

/// <summary>The statement was refused before it ran, or DuckDB refused it; the message is safe to show the caller.</summary>
public sealed class QueryRefusedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// DuckDB could not run the query because the database failed for good: a FATAL error invalidated it (say a checkpoint
/// that could not write for lack of space). A server fault, not the caller's; the server stops to reopen DuckDB.
/// </summary>
public sealed class QueryStorageFailureException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>DuckDB stopped the query at its instance-wide <c>memory_limit</c> (<c>Storage:DuckDbMemoryLimit</c>).</summary>
public sealed class QueryOutOfMemoryException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The rows of a running sandboxed query, read once, in order; every value as its column's <see cref="QueryValueKind"/> says.</summary>
public sealed class QueryRows
{
    private readonly DuckDBDataReader _reader;

    internal QueryRows(IReadOnlyList<QueryColumn> columns, DuckDBDataReader reader)
    {
        Columns = columns;
        _reader = reader;
    }

    public IReadOnlyList<QueryColumn> Columns { get; }

    /// <summary>Moves to the next row; <see langword="false"/> at the end.</summary>
    public bool Read() => _reader.Read();

    public bool IsNull(int column) => _reader.IsDBNull(column);

    /// <summary>A <see cref="QueryValueKind.Native"/> value.</summary>
    public object Value(int column) => _reader.GetValue(column);

    /// <summary>The text of a <see cref="QueryValueKind.Text"/>, <see cref="QueryValueKind.Timestamp"/> or <see cref="QueryValueKind.Json"/> value.</summary>
    public string Text(int column) => _reader.GetString(column);
}

/// <summary>
/// Runs untrusted read-only SQL over the trade tables (DuckDB's "Securing DuckDB" guidance): one SELECT only, checked
/// on DuckDB's own parse tree against an allow-list of functions and tables (<see cref="SqlTreeCheck"/>); the checked
/// tree, turned back into SQL by DuckDB, is what runs, so no second parse can differ; a read-only transaction on its
/// own connection; cancellation interrupts it. <see cref="LockDown"/> must have run first. Row, size and time limits
/// belong to the caller, which consumes the rows.
/// </summary>
public sealed class SqlSandbox
{
    private readonly DuckDbDatabase _database;
    private readonly SqlTreeCheck _check;

    /// <summary>Reads the database's tables and views once: call it after migrations.</summary>
    public SqlSandbox(DuckDbDatabase database, QueryFunctionPolicy? policy = null)
    {
        _database = database;
        using var connection = database.OpenConnection();
        var own = Names(connection,
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal " +
            "UNION SELECT view_name FROM duckdb_views() WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal");
        var catalog = Names(connection, "SELECT table_name FROM duckdb_tables() UNION SELECT view_name FROM duckdb_views()");
        _check = new SqlTreeCheck(policy ?? QueryFunctionPolicy.Default, own, catalog);
    }

    /// <summary>
    /// Turns off file and network access, and locks the configuration, for the whole database instance. By design
    /// instance-wide: connections to one file share one instance, so no per-connection setting exists. Measured: the
    /// writer's Appender, INSERT, UPDATE and CHECKPOINT keep working afterwards, so this runs after migrations and
    /// before anything listens. Settings the instance needs (<c>memory_limit</c>) are set by <see cref="DuckDbDatabase.Open"/> before.
    /// </summary>
    public static void LockDown(DuckDbDatabase database)
    {
        using var connection = database.OpenConnection();
        foreach (var statement in (string[])["SET enable_external_access = false", "SET allow_community_extensions = false", "SET lock_configuration = true"])
        {
            Execute(connection, statement);
        }
    }

    /// <summary>
    /// Checks <paramref name="sql"/>, runs it and hands its rows to <paramref name="consume"/> on this thread. Blocks:
    /// run it off the request thread. <paramref name="cancellationToken"/> interrupts DuckDB.
    /// </summary>
    /// <exception cref="QueryRefusedException">Not exactly one SELECT, a function or table off the allow-list, or DuckDB refused it.</exception>
    /// <exception cref="QueryOutOfMemoryException">DuckDB's memory_limit stopped it.</exception>
    /// <exception cref="QueryStorageFailureException">DuckDB failed for good (a FATAL error invalidated the database).</exception>
    /// <exception cref="OperationCanceledException">It was cancelled.</exception>
    public T Run<T>(string sql, Func<QueryRows, T> consume, CancellationToken cancellationToken)
    {
        using var prepared = Prepare(sql, cancellationToken);
        return prepared.Run(consume);
    }

    /// <summary>
    /// The first half of <see cref="Run{T}"/>: its own connection, the statement checked and a read-only transaction
    /// begun, all cheap, so a caller may do this at normal priority (a refused statement is answered at once) and only
    /// <see cref="PreparedQuery.Run{T}"/> at a lower one. By design the result's columns are described there, not here:
    /// describing binds the statement, whose cost grows with what it names (a 300,000-item IN list took 6.7 s of CPU)
    /// and which no interrupt reaches, so at normal priority it took a core from the write path. <paramref name="cancellationToken"/>
    /// interrupts DuckDB until the prepared query is disposed, which rolls back and closes the connection: once cancelled,
    /// again and again (<see cref="DuckDbInterrupt"/>), since DuckDB forgets an interrupt that arrives between two
    /// statements, say after this returns and before the query runs, which then ran to its end, past the query timeout.
    /// </summary>
    /// <inheritdoc cref="Run{T}" path="/exception"/>
    public PreparedQuery Prepare(string sql, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var connection = OpenConnection();
        var command = connection.CreateCommand();
        var interrupt = new DuckDbInterrupt(connection, cancellationToken);
        try
        {
            return Translated(cancellationToken, () =>
            {
                var checkedSql = Check(connection, sql);
                Execute(connection, "BEGIN TRANSACTION READ ONLY");
                return new PreparedQuery(this, connection, command, interrupt, checkedSql, cancellationToken);
            });
        }
        catch
        {
            interrupt.Dispose();
            command.Dispose();
            connection.Dispose();
            throw;
        }
    }

    /// <summary>DuckDB's errors turned into the sandbox's exceptions: the one translation for every step of a query.</summary>
    private T Translated<T>(CancellationToken cancellationToken, Func<T> step)
    {
        try
        {
            return step();
        }
        catch (DuckDBException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The query was interrupted.", ex, cancellationToken);
        }
        catch (DuckDBException ex) when (_database.WriteHealth.ReportIfInvalidated(ex))
        {
            // Not the query's fault: DuckDB invalidated the database (and says "FATAL Error"), which only a restart reopens.
            throw StorageFailed(ex);
        }
        catch (DuckDBException ex) when (ex.ErrorType == DuckDBErrorType.OutOfMemory)
        {
            throw new QueryOutOfMemoryException(ex.Message.Split('\n')[0].Trim(), ex);
        }
        catch (DuckDBException ex)
        {
            throw new QueryRefusedException(ex.Message.Split('\n')[0].Trim(), ex);
        }
    }

    /// <summary>
    /// A checked statement in its read-only transaction, ready to run once (<see cref="Run{T}"/> or <see cref="RunArrow{T}"/>)
    /// on any thread; disposing it rolls back and closes its connection.
    /// </summary>
    public sealed class PreparedQuery : IDisposable
    {
        private readonly SqlSandbox _sandbox;
        private readonly DuckDBConnection _connection;
        private readonly DuckDBCommand _command;
        private readonly DuckDbInterrupt _interrupt;
        private readonly string _checkedSql;
        private readonly CancellationToken _cancellationToken;

        internal PreparedQuery(SqlSandbox sandbox, DuckDBConnection connection, DuckDBCommand command, DuckDbInterrupt interrupt,
            string checkedSql, CancellationToken cancellationToken) =>
            (_sandbox, _connection, _command, _interrupt, _checkedSql, _cancellationToken) = (sandbox, connection, command, interrupt, checkedSql, cancellationToken);

        /// <summary>Describes the result's columns, then runs the statement and hands its rows to <paramref name="consume"/>, all on this thread.</summary>
        /// <exception cref="QueryRefusedException">DuckDB refused it while it was bound or ran.</exception>
        /// <exception cref="QueryOutOfMemoryException">DuckDB's memory_limit stopped it.</exception>
        /// <exception cref="QueryStorageFailureException">DuckDB failed for good (a FATAL error invalidated the database).</exception>
        /// <exception cref="OperationCanceledException">It was cancelled.</exception>
        public T Run<T>(Func<QueryRows, T> consume) => _sandbox.Translated(_cancellationToken, () =>
        {
            var columns = Describe(_command, _checkedSql);
            _command.CommandText = QueryColumns.Wrap(_checkedSql, columns);
            // Streamed: DuckDB hands over each chunk as it computes it, so the answer can be sent while the query
            // runs and memory holds a chunk, not the whole result; a failure on a late row surfaces at that row.
            _command.UseStreamingMode = true;
            using var reader = _command.ExecuteReader();
            return consume(new QueryRows(columns, reader));
        });

        /// <summary>
        /// Runs the statement like <see cref="Run{T}"/>, but hands DuckDB's own Arrow export of the rows (record batches
        /// as DuckDB makes them, no value passing through .NET) to <paramref name="consume"/>, with each column read
        /// through the SQL expression <paramref name="arrowColumn"/> makes of it and its position (<c>#n</c>).
        /// </summary>
        /// <inheritdoc cref="Run{T}" path="/exception"/>
        public T RunArrow<T>(Func<QueryColumn, string, string> arrowColumn, Func<IReadOnlyList<QueryColumn>, IArrowArrayStream, T> consume) =>
            _sandbox.Translated(_cancellationToken, () =>
            {
                var columns = Describe(_command, _checkedSql);
                _command.CommandText = QueryColumns.Wrap(_checkedSql, columns, arrowColumn);
                _command.UseStreamingMode = true;
                using var batches = _command.ExecuteArrowStream();
                return consume(columns, batches);
            });

        public void Dispose()
        {
            _interrupt.Dispose();
            TryRollback(_connection);
            _command.Dispose();
            _connection.Dispose();
        }
    }

    private DuckDBConnection OpenConnection()
    {
        try
        {
            return _database.OpenConnection();
        }
        catch (DuckDBException ex) when (_database.WriteHealth.ReportIfInvalidated(ex))
        {
            throw StorageFailed(ex);
        }
    }

    private static QueryStorageFailureException StorageFailed(DuckDBException ex) =>
        new($"DuckDB failed for good and cannot run queries in this process: the server stops to be restarted (tradestore guard or systemd restart it); retry shortly. DuckDB said: {ex.Message.Split('\n')[0].Trim()}", ex);

    /// <summary>
    /// DuckDB's parser decides: <c>json_serialize_sql</c> answers <c>error: true</c> for anything but SELECT (COPY, ATTACH,
    /// PRAGMA, SET, DDL, DML); the tree is then checked against the allow-lists, and DuckDB writes it back as SQL.
    /// No regular expressions.
    /// </summary>
    /// <returns>The SQL DuckDB writes for the checked tree.</returns>
    private string Check(DuckDBConnection connection, string sql)
    {
        var json = Scalar(connection, "SELECT json_serialize_sql(CAST($1 AS VARCHAR))", sql);
        using var document = ParseTree(json);
        var root = document.RootElement;
        if (root.GetProperty("error").GetBoolean())
        {
            // A syntax error's message says where; for a statement that parses but is no SELECT, DuckDB's words add nothing.
            var message = root.TryGetProperty("error_message", out var m) ? m.GetString() : null;
            var why = message is null || message.StartsWith("Only SELECT statements", StringComparison.Ordinal) ? "" : $": {message.TrimEnd('.')}";
            throw new QueryRefusedException($"Only one read-only SELECT (or WITH … SELECT) statement is accepted{why}.");
        }

        var statements = root.GetProperty("statements");
        if (statements.GetArrayLength() != 1)
        {
            throw new QueryRefusedException("Send exactly one SELECT statement.");
        }

        if (_check.Refusal(statements[0]) is { } refusal)
        {
            throw new QueryRefusedException(refusal);
        }

        return Scalar(connection, "SELECT json_deserialize_sql(CAST($1 AS JSON))", json);
    }

    /// <summary>
    /// The parse tree as JSON. DuckDB writes a literal beyond DOUBLE's range (<c>1e400</c>) as <c>Infinity</c>, which is
    /// not JSON: such a statement cannot be checked, so it is refused. The tree is read at any depth DuckDB's parser
    /// gives (<see cref="TreeDepth"/>): at JSON's usual 64 levels a sum of 30 columns was refused.
    /// </summary>
    private static JsonDocument ParseTree(string json)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = TreeDepth });
        }
        catch (JsonException)
        {
            throw new QueryRefusedException("The statement holds a literal that cannot be checked, such as a number beyond the DOUBLE range (1e400); write it within range or as a string.");
        }
    }

    /// <summary>
    /// How deep the parse tree may be read. DuckDB's parser stops first: its <c>max_expression_depth</c> is 1,000
    /// expressions and its grammar's stack about 10,000 levels ("memory exhausted"); reading the tree and
    /// <see cref="SqlTreeCheck"/> use no stack frame per level.
    /// </summary>
    private const int TreeDepth = 1_000_000;

    private static List<QueryColumn> Describe(DuckDBCommand command, string sql)
    {
        command.CommandText = "DESCRIBE " + sql;
        using var reader = command.ExecuteReader();
        var columns = new List<QueryColumn>();
        while (reader.Read())
        {
            columns.Add(QueryColumns.Plan(reader.GetString(0), reader.GetString(1)));
        }

        return columns;
    }

    private static HashSet<string> Names(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read())
        {
            names.Add(reader.GetString(0).ToLowerInvariant());
        }

        return names;
    }

    private static string Scalar(DuckDBConnection connection, string sql, string parameter)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.Add(new DuckDBParameter(parameter));
        return (string)command.ExecuteScalar()!;
    }

    private static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static void TryRollback(DuckDBConnection connection)
    {
        try
        {
            Execute(connection, "ROLLBACK");
        }
        catch (DuckDBException)
        {
            // An interrupted or failed transaction may already be gone; the connection is closed next anyway.
        }
    }
}
