using System.Diagnostics;

namespace TradeStore.TestSupport;

/// <summary>
/// Starts a server program of a test's own (a private redis-server, clickhouse-server or etcd) whose output nobody reads:
/// both pipes are drained, so a chatty server never blocks on a full one.
/// </summary>
public static class QuietProcess
{
    public static Process Start(string fileName, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
