using TradeStore.Storage;

namespace TradeStore.Server.Api;

/// <summary>
/// Where a query's time went, read when its timeout passes: how long its threads ran on a CPU and how long they waited
/// for one. A query is taken by a slot's thread, which checks and prepares it at normal priority, and then runs on the
/// slot's lowered thread (<see cref="QueryThreads"/>); each is one stretch here, measured by that thread's scheduler times.
/// </summary>
/// <remarks>
/// <para>Three waits would otherwise be missed, each of which made a loaded machine answer even <c>SELECT 1</c> as too
/// big (422 instead of 503): the time before a slot's thread took the query; a stretch that is still preparing (it was
/// not looked at); and the wait of a thread that is runnable but has not run since, which Linux adds to its waiting time
/// only when it next runs. By design the last counts everything in the current stretch that was not running as waiting
/// while its thread is runnable: that is a bound from above when the thread was also blocked earlier in the stretch, and
/// exact for a query that computes, as queries here do.</para>
/// <para>Time a thread spends blocked (its answer's reader, a lock) is counted in neither, so a query held up by its
/// reader still times out as too big.</para>
/// </remarks>
public sealed class QueryTimeline(TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly long _acceptedAt = time.GetTimestamp();
    private TimeSpan _ran;
    private TimeSpan _waited;
    private Stretch? _current;

    /// <summary>
    /// Called on the thread whose stretch ends, if any, as <paramref name="threadId"/> takes the query over; the ending
    /// stretch is measured now, while its thread runs and its times are current. A zero thread id (the kernel keeps no
    /// times) leaves the timeline without times.
    /// </summary>
    public void Begin(int threadId, Func<int, SchedulerTimes?> timesOf)
    {
        var at = time.GetTimestamp();
        var atStart = threadId == 0 ? null : timesOf(threadId);
        lock (_lock)
        {
            if (_current is { } ending)
            {
                var spent = ending.Thread == 0 ? null : timesOf(ending.Thread) - ending.AtStart;
                _ran += spent?.Running ?? TimeSpan.Zero;
                _waited += spent?.Waiting ?? TimeSpan.Zero;
            }
            else
            {
                _waited += time.GetElapsedTime(_acceptedAt, at); // no slot's thread had taken it
            }

            _current = atStart is { } start ? new Stretch(threadId, start, at) : new Stretch(0, default, at);
        }
    }

    /// <summary>
    /// How long the query has run and waited for a CPU so far; <see langword="null"/> when the kernel keeps no times
    /// (elsewhere than Linux). <paramref name="timesOf"/> and <paramref name="isRunnable"/> read a thread's state
    /// (<see cref="SchedulerTimes.Of"/>, <see cref="SchedulerTimes.IsRunnable"/>).
    /// </summary>
    public SchedulerTimes? Times(Func<int, SchedulerTimes?> timesOf, Func<int, bool> isRunnable)
    {
        var now = time.GetTimestamp();
        lock (_lock)
        {
            if (_current is not { } current)
            {
                return new SchedulerTimes(TimeSpan.Zero, time.GetElapsedTime(_acceptedAt, now));
            }

            if (current.Thread == 0 || timesOf(current.Thread) is not { } times)
            {
                return null;
            }

            var spent = times - current.AtStart;
            var waiting = spent.Waiting;
            if (isRunnable(current.Thread))
            {
                var notRunning = time.GetElapsedTime(current.StartedAt, now) - spent.Running;
                waiting = notRunning > waiting ? notRunning : waiting;
            }

            return new SchedulerTimes(_ran + spent.Running, _waited + waiting);
        }
    }

    /// <summary>One thread's part: its kernel id (0: no times), its times when it took the query, and when.</summary>
    private readonly record struct Stretch(int Thread, SchedulerTimes AtStart, long StartedAt);
}
