using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// <see cref="DuckDbInterrupt"/> stops a statement that would otherwise run for hours (a sum over 10^12 rows), whether
/// the token is cancelled before the statement starts (DuckDB forgets an interrupt that arrives between statements, so a
/// single one would be lost) or while it runs.
/// </summary>
public sealed class DuckDbInterruptTests : IDisposable
{
    private const string Endless = "SELECT sum(hash(i)) FROM range(1000000000000) t(i)";
    private readonly TempDirectory _directory = new("duckdb-interrupt");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Interrupt_CancelledBeforeTheStatementStarts_StopsIt()
    {
        using var database = DuckDbDatabase.Open(_directory.DatabasePath);
        using var connection = database.OpenConnection();
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        using var interrupt = new DuckDbInterrupt(connection, cancel.Token);
        using (var settle = connection.CreateCommand())
        {
            // A statement that clears the interrupts sent so far, as any statement does when it starts.
            settle.CommandText = "SELECT 1";
            Ignore(() => settle.ExecuteScalar());
        }

        using var command = connection.CreateCommand();
        command.CommandText = Endless;
        var stopped = Record.Exception(() => command.ExecuteScalar());

        Assert.True(DuckDbInterrupt.Stopped(stopped!, cancel.Token), $"not stopped by the interrupt: {stopped}");
    }

    [Fact]
    public async Task Interrupt_CancelledWhileTheStatementRuns_StopsIt()
    {
        using var database = DuckDbDatabase.Open(_directory.DatabasePath);
        using var connection = database.OpenConnection();
        using var cancel = new CancellationTokenSource();
        using var interrupt = new DuckDbInterrupt(connection, cancel.Token);
        using var command = connection.CreateCommand();
        command.CommandText = Endless;
        using var starting = new ManualResetEventSlim();

        var running = Task.Run(() =>
        {
            starting.Set();
            return Record.Exception(() => command.ExecuteScalar());
        }, TestContext.Current.CancellationToken);
        starting.Wait(TestContext.Current.CancellationToken);
        await cancel.CancelAsync();
        var stopped = await running;

        Assert.True(DuckDbInterrupt.Stopped(stopped!, cancel.Token), $"not stopped by the interrupt: {stopped}");
    }

    private static void Ignore(Action action)
    {
        try
        {
            action();
        }
#pragma warning disable CA1031 // the interrupt may or may not hit this statement; either is fine here
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
