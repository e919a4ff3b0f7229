using System.Diagnostics;
using System.Globalization;
using TradeStore.Guard;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// A benchmark script ended by SIGTERM (kill, timeout, a cancelled CI job) takes the run it was in the middle of with it.
/// bash ends at once on SIGTERM and runs its EXIT trap, but did not signal its foreground command: the tradestore-bench
/// run went on to its end, orphaned, loading the machine after the script had exited.
/// </summary>
public sealed class BenchScriptInterruptionTests
{
    [Fact]
    public async Task BenchQueryIsolation_SigtermDuringAMeasurement_NothingItStartedRunsAfterItEnds()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        // 20 writes/s for 120 s alone: the signal comes while that first measurement runs.
        using var script = RepositoryScript.Start("bench-query-isolation.sh", ["20", "120"], []);
        var stdout = script.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = script.StandardError.ReadToEndAsync(cancellationToken);
        List<(int Pid, string CommandLine, string StartTime)> started = [];
        try
        {
            var deadline = Stopwatch.StartNew();
            while (!Descendants(script.Id).Any(p => p.CommandLine.Contains("tradestore-bench.dll", StringComparison.Ordinal)))
            {
                Assert.False(script.HasExited, "the script ended before its measurement began");
                Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(3), "no tradestore-bench run within 3 minutes");
                await Task.Delay(200, cancellationToken);
            }

            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            started = Descendants(script.Id);
            var data = started.Select(p => DataDirectory(p.CommandLine)).Single(d => d is not null)!;
            Assert.True(PosixSignals.Send(script.Id, PosixSignals.SigTerm));

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            stop.CancelAfter(TimeSpan.FromSeconds(90));
            await script.WaitForExitAsync(stop.Token);

            // The bench stops its own run on SIGTERM (exit 143); the script waited for it, then stopped the server.
            var running = started.Where(p => Runs(p.Pid, p.StartTime)).Select(p => $"{p.Pid} {p.CommandLine}").ToList();
            Assert.True(running.Count == 0, $"still running after the script ended:\n{string.Join('\n', running)}\n{await stdout}{await stderr}");
            Assert.False(Directory.Exists(data), $"{data} left behind");
        }
        finally
        {
            // On the old script the orphaned run would go on for two minutes; end it here.
            foreach (var (pid, _, _) in started.Where(p => Runs(p.Pid, p.StartTime)))
            {
                PosixSignals.Send(pid, PosixSignals.SigKill);
            }

            if (!script.HasExited)
            {
                script.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>Every process below <paramref name="root"/> (children, their children, ...), with its command line and start time.</summary>
    private static List<(int Pid, string CommandLine, string StartTime)> Descendants(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && ParentOf(pid) is { } parent)
            {
                parents[pid] = parent;
            }
        }

        var found = new List<(int, string, string)>();
        var below = new HashSet<int> { root };
        bool grew;
        do
        {
            grew = false;
            foreach (var (pid, parent) in parents)
            {
                if (below.Contains(parent) && below.Add(pid))
                {
                    found.Add((pid, CommandLine(pid), Stat(pid)?[21] ?? ""));
                    grew = true;
                }
            }
        }
        while (grew);

        return found;
    }

    private static int? ParentOf(int pid) => Stat(pid) is { } fields ? int.Parse(fields[3], CultureInfo.InvariantCulture) : null;

    /// <summary>The fields of /proc/PID/stat, numbered as in proc(5) from 0 (pid, comm, state, ppid, ...), or null once it is gone.</summary>
    private static string[]? Stat(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The name may hold spaces and parentheses: it ends at the last ')'.
            var close = stat.LastIndexOf(')');
            return [stat[..stat.IndexOf(' ', StringComparison.Ordinal)], stat[(stat.IndexOf('(', StringComparison.Ordinal) + 1)..close], .. stat[(close + 2)..].Split(' ')];
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>The server's <c>--data DIR</c>, the script's temporary directory.</summary>
    private static string? DataDirectory(string commandLine)
    {
        var words = commandLine.Split(' ');
        var at = Array.IndexOf(words, "--data");
        return commandLine.Contains(" serve ", StringComparison.Ordinal) && at >= 0 && at + 1 < words.Length ? words[at + 1] : null;
    }

    /// <summary>Still running: present, the same process (its start time; a pid can be reused), and not a zombie.</summary>
    private static bool Runs(int pid, string startTime) => Stat(pid) is { } fields && fields[21] == startTime && fields[2] != "Z";
}
