using TradeStore.Storage.Query;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// A sandboxed query's token stops it from <see cref="SqlSandbox.Prepare"/> to the end of
/// <see cref="SqlSandbox.PreparedQuery.Run{T}"/>, including a cancellation that lands while no statement runs on the
/// connection (after preparing, before running): DuckDB forgets an interrupt sent between statements, and a single
/// one (<c>DuckDBCommand.Cancel</c>, as before) let the query run to its end, minutes past the query timeout.
/// </summary>
public sealed class SqlSandboxCancellationTests : IDisposable
{
    /// <summary>Accepted by the allow-list; on one DuckDB thread it runs for many minutes.</summary>
    private const string Endless = "SELECT count(*) FROM range(100000000000) WHERE hash(range) = 0";

    /// <summary>Far longer than a stopped query takes, far shorter than the query runs on its own.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _directory = new("sandbox-cancel");
    private readonly DuckDbDatabase _database;

    public SqlSandboxCancellationTests() => _database = DuckDbDatabase.Open(_directory.DatabasePath, threads: 1);

    public void Dispose()
    {
        _database.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public async Task Run_CancelledAfterPrepareBeforeRun_StopsWithOperationCanceled()
    {
        var sandbox = new SqlSandbox(_database);
        using var cancel = new CancellationTokenSource();
        var prepared = sandbox.Prepare(Endless, cancel.Token);
        await cancel.CancelAsync(); // nothing runs on the connection now: the interrupt must not be lost

        var running = Task.Run(() => prepared.Run(rows => rows.Read() ? rows.Value(0) : null), TestContext.Current.CancellationToken);
        // Disposed once it has ended: its rollback would wait for a query still running.
        _ = running.ContinueWith(_ => prepared.Dispose(), TaskScheduler.Default);

        var stopped = await Record.ExceptionAsync(() => running.WaitAsync(Bound, TestContext.Current.CancellationToken));
        Assert.IsAssignableFrom<OperationCanceledException>(stopped);
    }

    [Fact]
    public async Task Run_CancelledWhileItRuns_StopsWithOperationCanceled()
    {
        var sandbox = new SqlSandbox(_database);
        using var cancel = new CancellationTokenSource();

        var running = Task.Run(() => sandbox.Run(Endless, rows => rows.Read() ? rows.Value(0) : null, cancel.Token), TestContext.Current.CancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken); // wherever it is by then: preparing or running
        await cancel.CancelAsync();

        var stopped = await Record.ExceptionAsync(() => running.WaitAsync(Bound, TestContext.Current.CancellationToken));
        Assert.IsAssignableFrom<OperationCanceledException>(stopped);
    }
}
