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

        var (nice, name) = await threads.Run(() => (ThreadNice.Current(), Thread.CurrentThread.Name));

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

        var work = await threads.Run(
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

        await Assert.ThrowsAsync<InvalidOperationException>(() => threads.Run<int>(() => throw new InvalidOperationException("boom")));

        Assert.Equal(42, await threads.Run(() => 42));
    }

    [Fact]
    public async Task Run_FinishedThrows_TaskFaultsWithItAndThreadServesTheNext()
    {
        using var threads = new QueryThreads(1);

        await Assert.ThrowsAsync<ObjectDisposedException>(() => threads.Run(() => 1, finished: () => throw new ObjectDisposedException("slots")));

        var order = new List<string>();
        Assert.Equal(7, await threads.Run(() => { order.Add("work"); return 7; }, finished: () => order.Add("finished")));
        Assert.Equal(["work", "finished"], order);
    }
}
