using System.Globalization;

namespace TradeStore.Storage;

/// <summary>
/// How long one thread has run on a CPU, and how long it has waited, runnable, for one: Linux's
/// <c>/proc/self/task/TID/schedstat</c>. Time a thread spends blocked (on a lock, on I/O, for its reader) is in neither.
/// </summary>
public readonly record struct SchedulerTimes(TimeSpan Running, TimeSpan Waiting)
{
    public static SchedulerTimes operator -(SchedulerTimes later, SchedulerTimes earlier) =>
        new(later.Running - earlier.Running, later.Waiting - earlier.Waiting);

    /// <summary>The times of thread <paramref name="threadId"/> of this process; <see langword="null"/> when the kernel does not keep them.</summary>
    public static SchedulerTimes? Of(int threadId)
    {
        try
        {
            var fields = File.ReadAllText($"/proc/self/task/{threadId.ToString(CultureInfo.InvariantCulture)}/schedstat").Split(' ');
            return new SchedulerTimes(FromNanoseconds(fields[0]), FromNanoseconds(fields[1]));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether thread <paramref name="threadId"/> of this process is runnable now (Linux state <c>R</c>: on a CPU or
    /// waiting for one), as opposed to blocked; <see langword="false"/> when the kernel does not say.
    /// </summary>
    /// <remarks>
    /// Linux adds to a thread's waiting time only when the thread next runs, so a runnable thread that has not run for a
    /// while shows none of that wait in <see cref="Of"/>: this tells the caller to count it.
    /// </remarks>
    public static bool IsRunnable(int threadId)
    {
        try
        {
            // "tid (comm) S ...": the name may hold spaces and parentheses, the state follows the last ')'.
            var stat = File.ReadAllText($"/proc/self/task/{threadId.ToString(CultureInfo.InvariantCulture)}/stat");
            var nameEnd = stat.LastIndexOf(')');
            return nameEnd >= 0 && nameEnd + 2 < stat.Length && stat[nameEnd + 2] == 'R';
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static TimeSpan FromNanoseconds(string nanoseconds) =>
        TimeSpan.FromTicks(long.Parse(nanoseconds, NumberStyles.None, CultureInfo.InvariantCulture) / 100);
}
