using Microsoft.Extensions.Time.Testing;
using TradeStore.Server.Api;
using TradeStore.Storage;

namespace TradeStore.Server.Tests.Security;

/// <summary>
/// What a timed-out query is answered depends on these sums: 503 query-starved when it waited for a CPU for half its
/// timeout, 422 query-timeout otherwise. The kernel's per-thread times are played here by a table, so each wait the
/// timeline must count is set up exactly; <see cref="QueryStarvationTests"/> starves a real query.
/// </summary>
public sealed class QueryTimelineTests
{
    private const int Slot = 101;
    private const int Lowered = 102;

    private readonly FakeTimeProvider _clock = new();
    private readonly Dictionary<int, SchedulerTimes> _kernel = new() { [Slot] = Times(5, 1), [Lowered] = Times(40, 7) };
    private readonly HashSet<int> _runnable = [];

    [Fact]
    public void Times_NoSlotThreadTookItYet_AllOfItWaited()
    {
        var timeline = new QueryTimeline(_clock);
        _clock.Advance(TimeSpan.FromMilliseconds(900));

        Assert.Equal(Times(0, 900), Read(timeline));
    }

    [Fact]
    public void Times_StillPreparingOnARunnableThreadThatHasNotRunSince_TheUnaccountedTimeWaited()
    {
        var timeline = new QueryTimeline(_clock);
        _clock.Advance(TimeSpan.FromMilliseconds(30));
        timeline.Begin(Slot, KernelTimes);

        // It ran 20 ms and the kernel has added 50 ms of waiting so far; 1 s went by and it is runnable again.
        _clock.Advance(TimeSpan.FromSeconds(1));
        _kernel[Slot] = Times(5 + 20, 1 + 50);
        _runnable.Add(Slot);

        Assert.Equal(Times(20, 30 + 980), Read(timeline));
    }

    [Fact]
    public void Times_BlockedThread_OnlyTheKernelsWaitCounts()
    {
        var timeline = new QueryTimeline(_clock);
        timeline.Begin(Slot, KernelTimes);
        _clock.Advance(TimeSpan.FromMilliseconds(10));
        _kernel[Slot] = Times(5 + 4, 1 + 2);
        timeline.Begin(Lowered, KernelTimes);

        // Its answer's reader held it up for 2 s: blocked, which is the query's own doing.
        _clock.Advance(TimeSpan.FromSeconds(2));
        _kernel[Lowered] = Times(40 + 100, 7 + 60);

        Assert.Equal(Times(4 + 100, 2 + 60), Read(timeline));
    }

    [Fact]
    public void Times_LoweredThreadNeverReachedACpu_TheWholeStretchWaited()
    {
        var timeline = new QueryTimeline(_clock);
        timeline.Begin(Slot, KernelTimes);
        _clock.Advance(TimeSpan.FromMilliseconds(10));
        _kernel[Slot] = Times(5 + 8, 1 + 1);
        timeline.Begin(Lowered, KernelTimes);

        // Woken for the query and never run since: the kernel shows nothing yet.
        _clock.Advance(TimeSpan.FromSeconds(2));
        _runnable.Add(Lowered);

        Assert.Equal(Times(8, 1 + 2000), Read(timeline));
    }

    [Fact]
    public void Times_ComputingOnACpu_RanNotWaited()
    {
        var timeline = new QueryTimeline(_clock);
        timeline.Begin(Slot, KernelTimes);
        timeline.Begin(Lowered, KernelTimes);
        _clock.Advance(TimeSpan.FromSeconds(2));
        _kernel[Lowered] = Times(40 + 1990, 7 + 6);
        _runnable.Add(Lowered);

        Assert.Equal(Times(1990, 10), Read(timeline));
    }

    [Fact]
    public void Times_KernelKeepsNoTimes_None()
    {
        var timeline = new QueryTimeline(_clock);
        timeline.Begin(0, _ => null);
        _clock.Advance(TimeSpan.FromSeconds(2));

        Assert.Null(timeline.Times(_ => null, _ => false));
    }

    private SchedulerTimes? KernelTimes(int threadId) => _kernel.TryGetValue(threadId, out var times) ? times : null;

    private SchedulerTimes? Read(QueryTimeline timeline) => timeline.Times(KernelTimes, _runnable.Contains);

    private static SchedulerTimes Times(int ranMs, int waitedMs) => new(TimeSpan.FromMilliseconds(ranMs), TimeSpan.FromMilliseconds(waitedMs));
}
