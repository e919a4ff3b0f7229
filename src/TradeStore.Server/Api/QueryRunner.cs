using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>The query ran past <see cref="QueryLimits.Timeout"/>: the caller is answered now and DuckDB is interrupted.</summary>
public sealed class QueryTimeoutException(TimeSpan timeout) : Exception($"The query ran longer than {timeout}.")
{
    public TimeSpan Timeout { get; } = timeout;
}

/// <summary>All <c>Security:Query:MaxConcurrent</c> slots are taken (a timed-out query holds its slot until DuckDB stops it).</summary>
public sealed class QueryBusyException() : Exception("Too many queries are running.");

/// <summary>
/// Runs sandboxed queries under their limits, in one place: a slot of <c>Security:Query:MaxConcurrent</c>, the row and
/// byte limits (through the <see cref="QueryResultWriter"/>) and the timeout. By design the caller is answered when the
/// timeout passes, whatever DuckDB is doing: some operators (building one huge list) do not look at an interrupt for a
/// long time. The interrupted query keeps its slot until it has really stopped, so abandoned queries cannot pile up,
/// and DuckDB's <c>memory_limit</c> bounds what it can take meanwhile.
/// </summary>
public sealed class QueryRunner(SqlSandbox sandbox, QueryLimits limits, int maxConcurrent, TimeProvider time)
{
    private readonly SemaphoreSlim _slots = new(maxConcurrent, maxConcurrent);

    public QueryLimits Limits => limits;

    /// <exception cref="QueryBusyException">Every slot is taken.</exception>
    /// <exception cref="QueryRefusedException">The statement is refused, or DuckDB refused it.</exception>
    /// <exception cref="QueryTimeoutException">The timeout passed.</exception>
    public async Task<QueryOutput> RunAsync(string sql, QueryResultWriter writer, CancellationToken requestAborted)
    {
        if (!_slots.Wait(0, CancellationToken.None))
        {
            throw new QueryBusyException();
        }

        var interrupt = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
        Task<QueryOutput> work;
        try
        {
            // DuckDB blocks its calling thread: run it on the pool so the deadline below can answer without it.
            work = Task.Run(() => sandbox.Run(sql, rows => writer.Write(rows, limits), interrupt.Token), CancellationToken.None);
        }
        catch
        {
            interrupt.Dispose();
            _slots.Release();
            throw;
        }

        _ = work.ContinueWith(finished =>
        {
            _ = finished.Exception;
            _slots.Release();
            interrupt.Dispose();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        using var deadline = new CancellationTokenSource(limits.Timeout, time);
        var finishedFirst = await Task.WhenAny(work, Task.Delay(Timeout.Infinite, deadline.Token));
        if (finishedFirst == work)
        {
            return await work;
        }

        try
        {
            await interrupt.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // It finished in the meantime; nothing left to interrupt.
        }

        requestAborted.ThrowIfCancellationRequested();
        throw new QueryTimeoutException(limits.Timeout);
    }
}
