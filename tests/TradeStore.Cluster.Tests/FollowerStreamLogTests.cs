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
        // 10 s of retries every 200 ms (each a refused connection): about 50 attempts, logged at 1, 2, 4, 8, 16, 32.
        await Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        var cut = b.Process.Output;
        relay.Restore();
        await b.Process.WaitForOutputAsync("[1323]", Timeout);

        Assert.Equal(1, Count(cut, "[1313]"));
        var repeats = Count(cut, "[1322]");
        Assert.InRange(repeats, 2, 6);
        var last = Attempts().Matches(cut).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).Max();
        Assert.True(last >= 8, $"only {last} attempts logged in 10 s:\n{cut}");
        Assert.Matches(@"Replication: streaming from a again after \d+ failed attempt\(s\) over", b.Process.Output);
    }

    private static int Count(string output, string text) => Regex.Count(output, Regex.Escape(text));

    [GeneratedRegex(@"\[1322\] Replication: still no stream from a: (\d+) attempts")]
    private static partial Regex Attempts();
}
