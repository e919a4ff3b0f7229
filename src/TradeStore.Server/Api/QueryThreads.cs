using System.Collections.Concurrent;
using TradeStore.Storage;

namespace TradeStore.Server.Api;

/// <summary>
/// The threads <c>POST /v1/query</c> runs DuckDB on: dedicated, one per <c>Security:Query:MaxConcurrent</c> slot, each
/// a thread at normal priority and a thread at the lowest CPU priority the operating system gives (nice 19 on Linux).
/// An analytical query may keep a core busy for its whole timeout; at nice 19 the scheduler gives it only the time the
/// write path (HTTP threads, the journal's fsync, the applier, all at nice 0) leaves idle, so acknowledgements keep
/// their latency while the worst queries run. Checking the statement is cheap and bounded, and runs at normal
/// priority, so a refused statement is answered at once on a busy machine too.
/// </summary>
/// <remarks>
/// By design the DuckDB instance runs with one thread (<c>Storage:DuckDbThreads</c>, default 1): DuckDB's own worker
/// threads are shared by every connection and run at normal priority, so with more than one a query's parallel tasks
/// would escape the lowered priority. A niceness once raised cannot be lowered again without privileges, hence
/// dedicated threads rather than pool threads (<see cref="CpuPriority"/>), and a thread that is passed on to every
/// thread it creates, hence the answer's hand-over done at normal priority (<see cref="LowPriorityThread"/>).
/// </remarks>
public sealed class QueryThreads : IDisposable
{
    private readonly BlockingCollection<Action<LowPriorityThread>> _work = [];

    public QueryThreads(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var lowered = new LowPriorityThread[count];
        for (var i = 0; i < count; i++)
        {
            // By design two threads per slot: DuckDB runs on the lowered one, and the other, at normal priority, completes
            // the caller's task and wakes the answer's reader (LowPriorityThread says why).
            lowered[i] = new LowPriorityThread($"tradestore-query-{i}", CpuPriority.Lowest);
            var slot = lowered[i];
            new Thread(() => Work(slot)) { IsBackground = true, Name = $"query-slot-{i}" }.Start();
        }

        Niced = lowered.All(t => t.Lowered) && OperatingSystem.IsLinux();
    }

    /// <summary>Whether the queries run at nice 19 (Linux); elsewhere they run at <see cref="ThreadPriority.Lowest"/>.</summary>
    public bool Niced { get; }

    /// <summary>
    /// Runs <paramref name="prepare"/> on a query slot's thread at normal priority, then <paramref name="work"/> with what
    /// it made on the slot's lowered thread, then disposes that and runs <paramref name="finished"/> (whatever the
    /// outcome); the task completes after all, with the work's result or the first exception. <paramref name="lowering"/>
    /// is told which lowered thread runs the work, just before it does. Its continuations never run on a query thread.
    /// </summary>
    public Task<T> Run<TPrepared, T>(Func<TPrepared> prepare, Func<TPrepared, T> work, Action<LowPriorityThread>? lowering = null, Action? finished = null)
        where TPrepared : IDisposable
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(lowered => RunOn(lowered, prepare, work, lowering, finished, completion));
        return completion.Task;
    }

    /// <summary>No more work is taken; each slot ends once its query, if any, is done.</summary>
    public void Dispose() => _work.CompleteAdding();

    /// <summary>On the slot's thread at normal priority: preparing, the work on the lowered thread, then <paramref name="finished"/> and the completion here.</summary>
    private static void RunOn<TPrepared, T>(LowPriorityThread lowered, Func<TPrepared> prepare, Func<TPrepared, T> work, Action<LowPriorityThread>? lowering,
        Action? finished, TaskCompletionSource<T> completion)
        where TPrepared : IDisposable
    {
        // By design nothing escapes: an exception on a dedicated thread would end the process.
        T result = default!;
        Exception? error = null;
        try
        {
            using var prepared = prepare();
            lowering?.Invoke(lowered);
            result = lowered.Run(() => work(prepared));
        }
        catch (Exception ex)
        {
            error = ex;
        }

        try
        {
            finished?.Invoke();
        }
        catch (Exception ex)
        {
            error ??= ex;
        }

        if (error is null)
        {
            completion.SetResult(result);
        }
        else
        {
            completion.SetException(error);
        }
    }

    private void Work(LowPriorityThread lowered)
    {
        using (lowered)
        {
            foreach (var work in _work.GetConsumingEnumerable())
            {
                work(lowered);
            }
        }
    }
}
