using System.Collections.Concurrent;
using TradeStore.Storage;
using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>The query ran past <see cref="QueryLimits.Timeout"/>: the caller is answered now and DuckDB is interrupted.</summary>
public sealed class QueryTimeoutException(TimeSpan timeout) : Exception($"The query ran longer than {timeout}.")
{
    public TimeSpan Timeout { get; } = timeout;
}

/// <summary>
/// The timeout passed while the query mostly waited for a CPU: queries run at the lowest CPU priority, and the write
/// path or other processes kept every core busy. The machine's load, not the query's size; <see cref="Times"/> says how
/// long it ran and how long it waited.
/// </summary>
public sealed class QueryStarvedException(TimeSpan timeout, SchedulerTimes times)
    : Exception($"The query ran longer than {timeout}, waiting {times.Waiting} of it for a CPU.")
{
    public TimeSpan Timeout { get; } = timeout;

    public SchedulerTimes Times { get; } = times;
}

/// <summary>The process grew by more than <see cref="QueryLimits.MaxMemory"/> while the query ran, and it was interrupted.</summary>
public sealed class QueryMemoryException(long maxMemory) : Exception($"The query used more than {maxMemory} bytes.")
{
    public long MaxMemory { get; } = maxMemory;
}

/// <summary>All <c>Security:Query:MaxConcurrent</c> slots are taken (a timed-out query holds its slot until DuckDB stops it).</summary>
public sealed class QueryBusyException(int maxConcurrent) : Exception($"{maxConcurrent} queries are running already.")
{
    public int MaxConcurrent { get; } = maxConcurrent;
}

/// <summary>
/// Runs sandboxed queries under their limits, in one place: a slot of <c>Security:Query:MaxConcurrent</c>, the row and
/// byte limits (through the <see cref="QueryResultWriter"/>), the memory bound and the timeout.
/// </summary>
/// <remarks>
/// <para>By design the caller is answered when the timeout passes, whatever DuckDB is doing: some operators do not look
/// at an interrupt for a long time. The interrupted query keeps its slot until it has really stopped, so abandoned
/// queries cannot pile up.</para>
/// <para>Memory is bounded twice. DuckDB's instance-wide <c>memory_limit</c> (<c>Storage:DuckDbMemoryLimit</c>) stops
/// a query whose operators need more (422 <c>query-memory</c>); the journal log acknowledges writes, so an apply DuckDB
/// refuses meanwhile is retried and no acknowledgement waits for it. Allocations outside DuckDB's buffer manager are
/// caught by watching the process: every <see cref="MemoryCheckPeriod"/> its working set is compared with its size when
/// each running query started, and a query is interrupted once the process has grown by more than
/// <see cref="QueryLimits.MaxMemory"/>. Functions that build one huge value in a step DuckDB cannot interrupt
/// (<c>range(n)</c> as a list, <c>repeat</c>, <c>lpad</c>) are refused by the allow-list instead.</para>
/// <para>Queries run on <see cref="QueryThreads"/> at the lowest CPU priority, so the write path keeps its CPU. A query
/// that reaches its timeout having waited for a CPU for at least half of it, counted from when it was accepted
/// (<see cref="QueryTimeline"/>), is answered as starved (<see cref="QueryStarvedException"/>: the machine was busy,
/// retry later), not as too big.</para>
/// </remarks>
public sealed class QueryRunner : IDisposable
{
    /// <summary>How often the memory bound is checked while queries run.</summary>
    public static readonly TimeSpan MemoryCheckPeriod = TimeSpan.FromMilliseconds(50);

    private readonly SqlSandbox _sandbox;
    private readonly QueryThreads _threads;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _slots;
    private readonly int _maxConcurrent;
    private readonly ConcurrentDictionary<Running, byte> _running = new();
    private readonly ITimer _memoryCheck;

    public QueryRunner(SqlSandbox sandbox, QueryLimits limits, int maxConcurrent, TimeProvider time)
    {
        _sandbox = sandbox;
        Limits = limits;
        _time = time;
        _maxConcurrent = maxConcurrent;
        _slots = new SemaphoreSlim(maxConcurrent, maxConcurrent);
        _threads = new QueryThreads(maxConcurrent);
        _memoryCheck = time.CreateTimer(_ => CheckMemory(), null, MemoryCheckPeriod, MemoryCheckPeriod);
    }

    public QueryLimits Limits { get; }

    /// <summary>Whether queries run at the lowest CPU priority (nice 19 on Linux).</summary>
    public bool LowPriority => _threads.Niced;

    /// <exception cref="QueryBusyException">Every slot is taken.</exception>
    /// <exception cref="QueryRefusedException">The statement is refused, or DuckDB refused it.</exception>
    /// <exception cref="QueryTimeoutException">The timeout passed.</exception>
    /// <exception cref="QueryStarvedException">The timeout passed while the query waited for a CPU for at least half of it.</exception>
    /// <exception cref="QueryMemoryException">The memory bound was passed.</exception>
    public async Task<QueryOutput> RunAsync(string sql, QueryResultWriter writer, CancellationToken requestAborted)
    {
        var body = new BufferedQueryBody();
        var result = await RunAsync(sql, writer, body, requestAborted);
        return new QueryOutput(body.WrittenMemory, writer.ContentType, result.RowCount, result.Truncation);
    }

    /// <summary>
    /// Runs the query with <paramref name="writer"/> writing into <paramref name="body"/> as rows arrive. The timeout
    /// covers the whole answer, including the time a streaming body waits for its reader.
    /// </summary>
    /// <inheritdoc cref="RunAsync(string, QueryResultWriter, CancellationToken)" path="/exception"/>
    public async Task<QueryResult> RunAsync(string sql, QueryResultWriter writer, QueryBody body, CancellationToken requestAborted)
    {
        if (!_slots.Wait(0, CancellationToken.None))
        {
            throw new QueryBusyException(_maxConcurrent);
        }

        var running = new Running(CancellationTokenSource.CreateLinkedTokenSource(requestAborted), Environment.WorkingSet, new QueryTimeline(_time));
        Task<QueryResult> work;
        try
        {
            _running[running] = 0;
            body.Begin(running.Interrupt.Token);
            // DuckDB blocks its calling thread: check the statement on a query slot's thread, and run it on the slot's
            // low-priority thread, so the deadline below can answer without it and the write path keeps the CPU it needs.
            // The slot is given back on the query thread before the task completes, so a caller that awaits the
            // answer can run its next query at once.
            work = _threads.Run(
                prepare: () =>
                {
                    running.Timeline.Begin(CpuPriority.CurrentThreadId(), SchedulerTimes.Of);
                    return _sandbox.Prepare(sql, running.Interrupt.Token);
                },
                work: prepared =>
                {
                    var result = writer.TakesBatches
                        ? prepared.RunArrow(writer.BatchColumn, (columns, batches) => writer.WriteBatches(columns, batches, Limits, body))
                        : prepared.Run(rows => writer.Write(rows, Limits, body));
                    body.Complete();
                    return result;
                },
                lowering: lowered => running.Timeline.Begin(lowered.ThreadId, SchedulerTimes.Of),
                finished: () => Finish(running));
        }
        catch
        {
            Finish(running);
            throw;
        }

        // A query answered by the deadline may fail later, with nobody awaiting it.
        _ = work.ContinueWith(static finished => _ = finished.Exception, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

        using var deadline = new CancellationTokenSource(Limits.Timeout, _time);
        var finishedFirst = await Task.WhenAny(work, Task.Delay(Timeout.Infinite, deadline.Token));
        if (finishedFirst == work)
        {
            try
            {
                return await work;
            }
            catch (OperationCanceledException) when (running.MemoryExceeded)
            {
                throw new QueryMemoryException(Limits.MaxMemory);
            }
        }

        var times = running.Timeline.Times(SchedulerTimes.Of, SchedulerTimes.IsRunnable);
        running.Stop();
        requestAborted.ThrowIfCancellationRequested();
        if (times is { } starved && starved.Waiting >= Limits.Timeout / 2)
        {
            throw new QueryStarvedException(Limits.Timeout, starved);
        }

        throw new QueryTimeoutException(Limits.Timeout);
    }

    public void Dispose()
    {
        _memoryCheck.Dispose();
        _threads.Dispose();
        // By design the slots are not disposed: a query still running gives its slot back when it ends.
    }

    private void CheckMemory()
    {
        if (_running.IsEmpty)
        {
            return;
        }

        var workingSet = Environment.WorkingSet;
        foreach (var running in _running.Keys)
        {
            if (workingSet - running.WorkingSetAtStart > Limits.MaxMemory)
            {
                running.MemoryExceeded = true;
                running.Stop();
            }
        }
    }

    private void Finish(Running running)
    {
        _running.TryRemove(running, out _);
        running.Dispose();
        _slots.Release();
    }

    /// <summary>One running query: how to interrupt it, the process's size when it started and where its time went.</summary>
    private sealed class Running(CancellationTokenSource interrupt, long workingSetAtStart, QueryTimeline timeline) : IDisposable
    {
        private int _disposed;

        public CancellationTokenSource Interrupt { get; } = interrupt;

        public long WorkingSetAtStart { get; } = workingSetAtStart;

        public QueryTimeline Timeline { get; } = timeline;

        public volatile bool MemoryExceeded;

        public void Stop()
        {
            if (Volatile.Read(ref _disposed) == 0)
            {
                try
                {
                    Interrupt.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // It finished in the meantime; nothing left to interrupt.
                }
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interrupt.Dispose();
            }
        }
    }
}
