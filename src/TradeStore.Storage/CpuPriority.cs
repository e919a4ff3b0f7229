using System.Runtime.InteropServices;

namespace TradeStore.Storage;

/// <summary>
/// Lowers the CPU priority of the calling thread only (its nice value on Linux), so the acknowledgement path
/// (HTTP threads, the writer and its journal fsync, all at nice 0) gets the CPU first on a busy machine. Work that
/// trails the acknowledgement runs lower: DuckDB's work for the applier and the <c>trade_state</c> flusher at
/// <see cref="Background"/>, and <c>POST /v1/query</c> at <see cref="Lowest"/>, each on a <see cref="LowPriorityThread"/>.
/// </summary>
/// <remarks>
/// By design for dedicated threads only: an unprivileged process can raise a thread's nice value but never lower it
/// again, so a pool thread must never be passed through here, and every thread a lowered thread creates inherits its
/// value (<see cref="LowPriorityThread"/> keeps them from creating any). Elsewhere than Linux it sets
/// <see cref="Thread.Priority"/> instead.
/// </remarks>
public static partial class CpuPriority
{
    /// <summary>Nice value of work behind the acknowledgement that must keep up (applying the journal to DuckDB).</summary>
    public const int Background = 10;

    /// <summary>Nice value of work that may wait for idle CPU (analytical queries).</summary>
    public const int Lowest = 19;

    private const int PrioProcess = 0;

    /// <summary>Sets the calling thread's nice value to <paramref name="nice"/>; <see langword="false"/> when the OS refused.</summary>
    public static bool LowerCurrentThread(int nice)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nice, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nice, Lowest);
        if (OperatingSystem.IsLinux())
        {
            // On Linux setpriority with a thread id changes that one thread, not the process.
            return SetPriority(PrioProcess, GetTid(), nice) == 0;
        }

        Thread.CurrentThread.Priority = nice >= Lowest ? ThreadPriority.Lowest : ThreadPriority.BelowNormal;
        return true;
    }

    /// <summary>The calling thread's id in the kernel (Linux); 0 elsewhere.</summary>
    public static int CurrentThreadId() => OperatingSystem.IsLinux() ? GetTid() : 0;

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, int who, int prio);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetTid();
}
