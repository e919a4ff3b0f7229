using System.Globalization;

namespace TradeStore.Storage.Tests;

/// <summary>
/// Work behind the acknowledgement runs at a lower CPU priority than the writer: the DuckDB applier and the
/// <c>trade_state</c> flusher at nice 10, the writer (whose fsync acknowledges) at the process's own priority.
/// </summary>
public sealed class CpuPriorityTests
{
    [Fact]
    public async Task Engine_Started_ApplierAndFlusherAtBackgroundNiceAndWriterUnchanged()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "thread niceness is read from /proc on Linux");
        await using var harness = EngineHarness.Start();

        // Linux keeps the first 15 bytes of a thread's name.
        var threads = await WaitForThreadsAsync("tradestore-writ", "tradestore-duck", "tradestore-stat");

        Assert.Equal(0, threads["tradestore-writ"]);
        Assert.Equal(CpuPriority.Background, threads["tradestore-duck"]);
        Assert.Equal(CpuPriority.Background, threads["tradestore-stat"]);
    }

    [Fact]
    public void LowerCurrentThread_OnADedicatedThread_ChangesThatThreadOnly()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "thread niceness is read from /proc on Linux");
        int? lowered = null;
        var thread = new Thread(() =>
        {
            Assert.True(CpuPriority.LowerCurrentThread(CpuPriority.Background));
            lowered = Nice(File.ReadAllText("/proc/thread-self/stat"));
        });
        thread.Start();
        thread.Join();

        Assert.Equal(CpuPriority.Background, lowered);
        Assert.Equal(0, Nice(File.ReadAllText("/proc/thread-self/stat")));
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
                        found[name] = Nice(File.ReadAllText(Path.Combine(task, "stat")));
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

    /// <summary>Field 19 of a /proc stat line: the nice value (counted after the command name in parentheses).</summary>
    private static int Nice(string stat) => int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16], CultureInfo.InvariantCulture);
}
