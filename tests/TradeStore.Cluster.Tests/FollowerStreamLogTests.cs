using System.Text.RegularExpressions;
using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// From the log audit of session 37: a follower that could not reach its leader logged event 1313 ("the stream … broke")
/// every 200 ms, 5 lines a second, for as long as the leader held its lease while unreachable (a partition between the
/// nodes, a wrong Cluster:AdvertiseUrl path), and 1316 once a second at error level while the leader could not reach
/// etcd. Now the first failure is logged, repeats are paced (1322 at the 2nd, 4th, 8th, … attempt, then once a minute),
/// and the stream that opens again says after how many attempts and how long (1323).
/// </summary>
public sealed partial class FollowerStreamLogTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>A guard against a hung test: 32 retries take about 7 s on an idle machine.</summary>
    private static readonly TimeSpan FollowerRetries = TimeSpan.FromMinutes(3);
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    [Fact]
    public async Task LeaderUnreachableButLeading_FollowerPacesItsRetriesAndLogsTheStreamAgain()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(60) };
        var aUrl = $"http://127.0.0.1:{FreePort.Next()}";
        using var relay = new TcpRelay(new Uri(aUrl));
        // a advertises the relay: b streams through it, and a cut of the relay leaves a leading (it reaches etcd) but unreachable.
        await using var a = await NodeProcess.StartAsync("a", _prefix, new Dictionary<string, string> { ["TRADESTORE__CLUSTER__ADVERTISEURL"] = relay.Url }, url: aUrl);
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        await using var b = await NodeProcess.StartAsync("b", _prefix);
        await b.Process.WaitForOutputAsync("Replication: following a", Timeout);

        relay.Cut();
        await b.Process.WaitForOutputAsync("[1313]", Timeout);
        // Retries every 200 ms (each a refused connection), logged at 1, 2, 4, 8, 16, 32: waited for until the 32nd is
        // logged, not for a fixed 10 s (a starved follower may not make 8 attempts in them). Unpaced, 32 attempts are 32 lines.
        var cut = await Eventually.MatchAsync(() => Task.FromResult(b.Process.Output), output => LastLoggedAttempt(output) >= 32, FollowerRetries,
            "b logs its 32nd attempt (1322); b's output");
        relay.Restore();
        await b.Process.WaitForOutputAsync("[1323]", Timeout);

        Assert.Equal(1, Count(cut, "[1313]"));
        var repeats = Count(cut, "[1322]");
        Assert.True(repeats is >= 2 and <= 6, $"{repeats} lines 1322 for {LastLoggedAttempt(cut)} attempts:\n{cut}");
        Assert.Matches(@"Replication: streaming from a again after \d+ failed attempt\(s\) over", b.Process.Output);
    }

    private static int Count(string output, string text) => Regex.Count(output, Regex.Escape(text));

    private static int LastLoggedAttempt(string output) =>
        Attempts().Matches(output).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();

    [GeneratedRegex(@"\[1322\] Replication: still no stream from a: (\d+) attempts")]
    private static partial Regex Attempts();
}
