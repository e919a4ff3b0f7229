using System.Runtime.CompilerServices;

namespace TradeStore.Core.Threading;

/// <summary>
/// Requests handled on .NET's socket event threads (<c>Server:InlineScheduling</c>): .NET runs a socket's completion
/// on the thread that polled it (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>) and Kestrel runs the request on
/// that same thread (its <c>UnsafePreferInlineScheduling</c>), so a request costs no hand-off between threads. The
/// price is a rule: nothing may block an event thread, because every connection it polls waits meanwhile. Code that
/// may wait on DuckDB or read files calls <see cref="LeaveAsync"/> first.
/// </summary>
/// <remarks>
/// There is one event thread per core in this mode, each polling its share of every socket in the process: the
/// server's connections and its own clients' (Redis, ClickHouse). The journal's group-commit fsync is the one wait
/// kept on them on purpose: it is what a write is acknowledged after, and the writer thread takes over the group
/// whenever another commit is under way. A cluster node's etcd connections are the exception to "every socket": a
/// thread of their own reads them (<c>EtcdChannel</c>), so the lease's renewals never wait behind requests.
/// </remarks>
public static class SocketEventThreads
{
    /// <summary>The .NET runtime's switch, read once, when the process first polls a socket.</summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>The name .NET gives its socket event threads.</summary>
    private const string ThreadName = ".NET Sockets";

    private static long _blockingCalls;

    /// <summary>Whether socket completions run on the event threads in this process (the variable is <c>1</c>).</summary>
    public static bool InlineCompletions => Environment.GetEnvironmentVariable(InlineCompletionsVariable) == "1";

    /// <summary>Whether the calling thread is a socket event thread.</summary>
    public static bool IsCurrent => Thread.CurrentThread.Name == ThreadName;

    /// <summary>How many times this process opened a blocking call (<see cref="ReportBlocking"/>) on an event thread.</summary>
    public static long BlockingCalls => Interlocked.Read(ref _blockingCalls);

    /// <summary>
    /// Turns inline socket completions on for this process unless its environment already says either way. Takes
    /// effect only before the process's first asynchronous socket operation; set later, the variable changes nothing.
    /// </summary>
    public static void EnableInlineCompletions()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
        }
    }

    /// <summary>
    /// Continues on a thread-pool thread when called on a socket event thread; completes at once anywhere else, so it
    /// costs nothing on the thread pool or a dedicated thread.
    /// </summary>
    public static LeaveAwaitable LeaveAsync() => default;

    /// <summary>
    /// Called where a blocking call starts (a DuckDB connection is opened): counts it in <see cref="BlockingCalls"/>
    /// when the caller is an event thread, which is a defect.
    /// </summary>
    public static void ReportBlocking()
    {
        if (IsCurrent)
        {
            Interlocked.Increment(ref _blockingCalls);
        }
    }

    /// <summary>Awaited by <see cref="LeaveAsync"/>: a thread-pool hop on an event thread, nothing elsewhere.</summary>
    public readonly struct LeaveAwaitable : ICriticalNotifyCompletion
    {
        public LeaveAwaitable GetAwaiter() => this;

        public bool IsCompleted => !IsCurrent;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation) => ThreadPool.QueueUserWorkItem(static c => c(), continuation, preferLocal: false);

        public void UnsafeOnCompleted(Action continuation) => ThreadPool.UnsafeQueueUserWorkItem(static c => c(), continuation, preferLocal: false);
    }
}
