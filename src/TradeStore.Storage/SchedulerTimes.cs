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

    private static TimeSpan FromNanoseconds(string nanoseconds) =>
        TimeSpan.FromTicks(long.Parse(nanoseconds, NumberStyles.None, CultureInfo.InvariantCulture) / 100);
}
