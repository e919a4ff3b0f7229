using System.Net;
using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// An old leader that rejoins with a tail the new leader never had (issue #14; <c>Cluster:SyncReplicas=0</c>, so the tail
/// was acknowledged asynchronously and is lost by design): it records the cut, stops with exit code 6, and at its next
/// start cuts the tail from its journal log and DuckDB, reports it, and then follows with the leader's history.
/// </summary>
public sealed class RejoinTests
{
    private const int SigKill = 9;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    [Fact]
    public async Task Rejoin_OldLeaderWithAnUnreplicatedTail_CutsItAtTheNextStartReportsItAndConverges()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
        await using var a = await NodeProcess.StartAsync("a", _prefix);
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        await using var b = await NodeProcess.StartAsync("b", _prefix);
        for (var i = 0; i < 10; i++)
        {
            await PostAsync(http, a, $"C-{i}");
        }

        await Eventually.MatchAsync(() => b.ClusterAsync(http), s => s.Nodes.Any(n => n.Name == "b" && n.IsLive && n.AppliedSeq == 10), Timeout, "b holds seq 10");

        // b stops; a acknowledges 5 more that only it holds, then dies.
        b.Process.Signal(15);
        await b.Process.WaitForExitAsync(Timeout);
        for (var i = 0; i < 5; i++)
        {
            await PostAsync(http, a, $"X-{i}");
        }

        a.Process.Signal(SigKill);
        await a.Process.WaitForExitAsync(Timeout);

        // b leads in a new term and writes seq 11..13 of its own.
        await b.RestartAsync();
        await Eventually.MatchAsync(() => b.ClusterAsync(http), s => s.Leader == "b", Timeout, "b leads");
        for (var i = 0; i < 3; i++)
        {
            await PostAsync(http, b, $"Z-{i}");
        }

        // a rejoins: its seq 11..15 are not b's; it records the cut and stops with exit code 6.
        await a.RestartAsync(waitUntilAnswering: false);
        var exitCode = await a.Process.WaitForExitAsync(Timeout);
        Assert.True(exitCode == 6, $"exit code {exitCode}, expected 6; the node's output:\n{a.Process.Output}");
        Assert.Contains("[1317]", a.Process.Output);

        // Started again, it cuts seq 11..15 first, reports them, and follows b.
        await a.RestartAsync();
        var status = await Eventually.MatchAsync(() => b.ClusterAsync(http), s => s.Nodes.Any(n => n.Name == "a" && n.IsLive && n.AppliedSeq == 13), Timeout, "a holds b's seq 13");
        Assert.Equal(new TruncatedRange(11, 15), status.Nodes.Single(n => n.Name == "a").TruncatedSeq);
        await a.Process.WaitForOutputAsync("[1318]", Timeout);
        // The table of `tradestore cluster status` shows the cut as the endpoint does.
        var (statusExit, table) = await TradeStoreProcess.RunAsync(["cluster", "status"], a.DataDirectory, a.Environment);
        Assert.True(statusExit == 0, table);
        Assert.Contains("truncatedSeq", table);
        Assert.Matches(@"(?m)^  a +http\S+ +follower +13 +\d+ +11\.\.15 +-$", table); // lastSeen: - for a live node
        using (var cut = await http.GetAsync($"{a.Url}/v1/trades/X-0?minSeq=13", ct))
        {
            Assert.Equal(HttpStatusCode.NotFound, cut.StatusCode);
        }

        using (var kept = await http.GetAsync($"{a.Url}/v1/trades/Z-2?minSeq=13", ct))
        {
            Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
        }

        Assert.Equal(await b.JournalAsync(http, minSeq: 13), await a.JournalAsync(http, minSeq: 13));
    }

    private static async Task PostAsync(HttpClient http, NodeProcess node, string id)
    {
        using var answer = await node.CreateTradeAsync(http, id);
        Assert.True(answer.StatusCode == HttpStatusCode.Created, $"{id} on {node.Name}: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
    }
}
