using TradeStore.Server.Api;
using TradeStore.Storage;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Security;

/// <summary>
/// Issue #19, finding 2: queries run where they cannot take the CPU from acknowledgements. Each query thread runs at
/// nice 19, and only that thread: the caller's thread keeps its priority.
/// </summary>
public sealed class QueryThreadsTests
{
    [Fact]
    public async Task Run_OnLinux_WorkRunsAtNice19OnItsOwnThreadAndCallerKeepsItsPriority()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "niceness per thread is read from /proc on Linux");
        using var threads = new QueryThreads(2);

        var (nice, name) = await RunAsync(threads, () => (ThreadNice.Current(), Thread.CurrentThread.Name));

        Assert.Equal(19, nice);
        Assert.StartsWith("tradestore-query-", name, StringComparison.Ordinal);
        Assert.True(threads.Niced);
        Assert.Equal(0, ThreadNice.Current());
    }

    [Fact]
    public async Task Run_OnLinux_FinishedAndHandOversRunAtNormalPrioritySoThePoolThreadsTheyWakeAreNotNiced()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "niceness per thread is read from /proc on Linux");
        using var threads = new QueryThreads(1);
        int? handedOver = null, finished = null;

        var work = await RunAsync(threads,
            () =>
            {
                LowPriorityThread.AtNormalPriority(() => handedOver = ThreadNice.Current());
                return ThreadNice.Current();
            },
            finished: () => finished = ThreadNice.Current());

        Assert.Equal(19, work);
        Assert.Equal(0, handedOver);
        Assert.Equal(0, finished);
    }

    [Fact]
    public async Task Run_WorkThrows_TaskFaultsWithItAndThreadServesTheNext()
    {
        using var threads = new QueryThreads(1);

        await Assert.ThrowsAsync<InvalidOperationException>(() => RunAsync<int>(threads, () => throw new InvalidOperationException("boom")));

        Assert.Equal(42, await RunAsync(threads, () => 42));
    }

    [Fact]
    public async Task Run_FinishedThrows_TaskFaultsWithItAndThreadServesTheNext()
    {
        using var threads = new QueryThreads(1);

        await Assert.ThrowsAsync<ObjectDisposedException>(() => RunAsync(threads, () => 1, finished: () => throw new ObjectDisposedException("slots")));

        var order = new List<string>();
        Assert.Equal(7, await RunAsync(threads, () => { order.Add("work"); return 7; }, finished: () => order.Add("finished")));
        Assert.Equal(["work", "finished"], order);
    }

    [Fact]
    public async Task Run_OnLinux_PrepareRunsAtNormalPriorityThenTheWorkNicedThenPreparedDisposedThenFinished()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "niceness per thread is read from /proc on Linux");
        using var threads = new QueryThreads(1);
        var order = new List<string>();
        LowPriorityThread? told = null;

        var work = await threads.Run(
            prepare: () =>
            {
                order.Add($"prepare at nice {ThreadNice.Current()}");
                return new Recorded(() => order.Add($"disposed at nice {ThreadNice.Current()}"));
            },
            work: _ =>
            {
                order.Add($"work at nice {ThreadNice.Current()}");
                return 3;
            },
            lowering: thread =>
            {
                told = thread;
                order.Add("lowering");
            },
            finished: () => order.Add("finished"));

        Assert.Equal(3, work);
        Assert.Equal(["prepare at nice 0", "lowering", "work at nice 19", "disposed at nice 0", "finished"], order);
        Assert.NotNull(told);
        Assert.True(SchedulerTimes.Of(told.ThreadId) is { Running.Ticks: > 0 }, "the lowered thread's scheduler times (/proc/self/task/TID/schedstat) were not read");
    }

    [Fact]
    public async Task Run_PrepareThrows_WorkNeverRunsTaskFaultsWithItAndFinishedStillRuns()
    {
        using var threads = new QueryThreads(1);
        var ranWork = false;
        var finished = false;

        await Assert.ThrowsAsync<InvalidOperationException>(() => threads.Run<Recorded, int>(
            prepare: () => throw new InvalidOperationException("refused"), work: _ => { ranWork = true; return 1; }, finished: () => finished = true));

        Assert.False(ranWork);
        Assert.True(finished);
        Assert.Equal(42, await RunAsync(threads, () => 42));
    }

    private static Task<T> RunAsync<T>(QueryThreads threads, Func<T> work, Action? finished = null) =>
        threads.Run(() => new Recorded(() => { }), _ => work(), finished: finished);

    private sealed class Recorded(Action disposed) : IDisposable
    {
        public void Dispose() => disposed();
    }
}
