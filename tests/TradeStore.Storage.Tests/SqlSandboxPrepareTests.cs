using TradeStore.Storage.Query;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// What <see cref="SqlSandbox.Prepare"/> does (at normal priority on a query slot) and what it leaves to
/// <see cref="SqlSandbox.PreparedQuery.Run{T}"/> (on the slot's niced thread): DuckDB binds the statement only in Run.
/// Binding no interrupt reaches costs what the statement names (a 300,000-item IN list: 6.7 s of CPU), and run in
/// Prepare it took a core from the write path.
/// </summary>
public sealed class SqlSandboxPrepareTests : IDisposable
{
    private readonly TempDirectory _directory = new("sandbox-prepare");
    private readonly DuckDbDatabase _database;

    public SqlSandboxPrepareTests() => _database = DuckDbDatabase.Open(_directory.DatabasePath, threads: 1);

    public void Dispose()
    {
        _database.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public void Prepare_StatementThatCannotBind_PreparedAndRefusedByRun()
    {
        var sandbox = new SqlSandbox(_database);

        // The parse and the allow-list checks pass; only binding finds that the column does not exist.
        using var prepared = sandbox.Prepare("SELECT no_such_column FROM range(3)", TestContext.Current.CancellationToken);
        var refused = Assert.Throws<QueryRefusedException>(() => prepared.Run(rows => rows.Read()));

        Assert.Contains("no_such_column", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Prepare_StatementTheChecksRefuse_RefusedByPrepare()
    {
        var sandbox = new SqlSandbox(_database);

        var refused = Assert.Throws<QueryRefusedException>(() => sandbox.Prepare("SELECT * FROM read_text('/etc/passwd')", TestContext.Current.CancellationToken));

        Assert.Contains("read_text", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_BoundStatement_ColumnsDescribedAndRowsRead()
    {
        var sandbox = new SqlSandbox(_database);

        using var prepared = sandbox.Prepare("SELECT range AS n, range * 2.5 AS x FROM range(3) ORDER BY n", TestContext.Current.CancellationToken);
        var (names, count) = prepared.Run(rows =>
        {
            var read = 0;
            while (rows.Read())
            {
                read++;
            }

            return (rows.Columns.Select(c => c.Name).ToList(), read);
        });

        Assert.Equal(["n", "x"], names);
        Assert.Equal(3, count);
    }
}
