using TradeStore.Core.Trades;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// Work behind the acknowledgement runs at a lower CPU priority than the writer: DuckDB's work for the applier and the
/// <c>trade_state</c> flusher at nice 10, the writer (whose fsync acknowledges) and the loops that wake other threads at
/// the process's own priority.
/// </summary>
public sealed class CpuPriorityTests
{
    [Fact]
    public async Task Engine_Started_DuckDbWorkOfApplierAndFlusherAtBackgroundNiceAndTheirLoopsAndWriterUnchanged()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "thread niceness is read from /proc on Linux");
        await using var harness = EngineHarness.Start();

        // Linux keeps the first 15 bytes of a thread's name.
        var threads = await WaitForThreadsAsync("tradestore-writ", "tradestore-duck", "duckdb-apply", "tradestore-stat", "duckdb-state");

        Assert.Equal(0, threads["tradestore-writ"]);
        Assert.Equal(0, threads["tradestore-duck"]);
        Assert.Equal(0, threads["tradestore-stat"]);
        Assert.Equal(CpuPriority.Background, threads["duckdb-apply"]);
        Assert.Equal(CpuPriority.Background, threads["duckdb-state"]);
    }

    [Fact]
    public async Task Engine_Committed_ObserversRunAtNormalPrioritySoThePoolThreadsTheyWakeAreNotNiced()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "thread niceness is read from /proc on Linux");
        var observer = new NiceRecordingObserver();
        await using var harness = EngineHarness.Start(null, observer);

        await harness.Submit(new CreateTrade("N-1", "ACC", "AAPL", Side.Buy, 10, 1));

        Assert.True(observer.Called.Wait(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        Assert.Equal(0, observer.Nice);
    }

    [Fact]
    public void LowPriorityThread_Run_WorkNicedCallerUnchangedResultAndExceptionHandedBack()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "thread niceness is read from /proc on Linux");
        using var worker = new LowPriorityThread("test-lowered", CpuPriority.Background);

        var niceInside = worker.Run(() => ThreadNice.Current());
        var error = Assert.Throws<InvalidDataException>(() => worker.Run(() => throw new InvalidDataException("from the lowered thread")));

        Assert.Equal(CpuPriority.Background, niceInside);
        Assert.Equal(0, ThreadNice.Current());
        Assert.Equal("from the lowered thread", error.Message);
        Assert.Equal(7, worker.Run(() => 7)); // still serving after a failure

        // What the work hands over runs on the waiting caller, at its priority; its exception comes back to the work.
        int? handedOver = null;
        var seenByWork = worker.Run(() =>
        {
            LowPriorityThread.AtNormalPriority(() => handedOver = ThreadNice.Current());
            try
            {
                LowPriorityThread.AtNormalPriority(() => throw new TimeoutException("from the caller"));
                return "not thrown";
            }
            catch (TimeoutException ex)
            {
                return ex.Message;
            }
        });
        Assert.Equal(0, handedOver);
        Assert.Equal("from the caller", seenByWork);
        worker.Dispose();
        Assert.Throws<ObjectDisposedException>(() => worker.Run(() => { }));
    }

    [Fact]
    public void LowerCurrentThread_OnADedicatedThread_ChangesThatThreadOnly()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "thread niceness is read from /proc on Linux");
        int? lowered = null;
        var thread = new Thread(() =>
        {
            Assert.True(CpuPriority.LowerCurrentThread(CpuPriority.Background));
            lowered = ThreadNice.Current();
        });
        thread.Start();
        thread.Join();

        Assert.Equal(CpuPriority.Background, lowered);
        Assert.Equal(0, ThreadNice.Current());
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuPriority.LowerCurrentThread(20));
    }

    /// <summary>The nice value of each named thread of this process, once all of them exist.</summary>
    private static async Task<Dictionary<string, int>> WaitForThreadsAsync(params string[] names)
    {
        var found = new Dictionary<string, int>();
        for (var attempt = 0; attempt < 100 && found.Count < names.Length; attempt++)
        {
            found.Clear();
            foreach (var task in Directory.GetDirectories("/proc/self/task"))
            {
                try
                {
                    var name = File.ReadAllText(Path.Combine(task, "comm")).Trim();
                    if (names.Contains(name))
                    {
                        found[name] = ThreadNice.FromStat(File.ReadAllText(Path.Combine(task, "stat")));
                    }
                }
                catch (IOException)
                {
                    // The thread ended meanwhile.
                }
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.True(found.Count == names.Length, $"threads found: {string.Join(", ", found.Keys)}");
        return found;
    }


    /// <summary>Records the nice value of the thread it is called on.</summary>
    private sealed class NiceRecordingObserver : ICommitObserver
    {
        public ManualResetEventSlim Called { get; } = new();

        public int? Nice { get; private set; }

        public void OnCommitted(IReadOnlyList<TradeEvent> events)
        {
            Nice = ThreadNice.Current();
            Called.Set();
        }
    }
}
