using System.Net;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// etcd started over empty on the same address (its data lost, or replaced by a fresh member) while the nodes keep their
/// journal logs: etcd's revision, and with it the term a new leader takes, starts again far below the terms in the logs.
/// </summary>
public sealed class EtcdStartedOverTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    /// <summary>
    /// Before, the new leader took a term (5) below the records it held (459 in the audit), wrote its records in it, and the
    /// followers, which refuse a leader of a lower term than their log's, never followed: with <c>SyncReplicas=1</c> every
    /// write answered <c>503 replication-unavailable</c> for good, and nothing said why.
    /// </summary>
    [Fact]
    public async Task EtcdStartedOverEmpty_NodesRestartWithTheirLogs_TheTermGoesOnAboveTheLogsAndWritesAreAcknowledgedAndReplicated()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
        await using var etcd = new EtcdProcess();
        await etcd.StartEmptyAsync();
        await etcd.AdvanceRevisionAsync(300); // terms in the logs well above what the new etcd reaches while the nodes start
        var settings = new Dictionary<string, string>
        {
            ["TRADESTORE__CLUSTER__ETCD"] = etcd.Url,
            ["TRADESTORE__CLUSTER__SYNCREPLICAS"] = "1",
        };
        await using var a = await NodeProcess.StartAsync("a", _prefix, settings);
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        await using var b = await NodeProcess.StartAsync("b", _prefix, settings);
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Nodes.Any(n => n.Name == "b" && n.IsLive), Timeout, "b registered");
        for (var i = 0; i < 3; i++)
        {
            await PostAsync(http, a, $"BEFORE-{i}");
        }

        var oldTerm = (await a.ClusterAsync(http)).Term;
        Assert.True(oldTerm > 300, $"term {oldTerm}");
        await Eventually.MatchAsync(() => b.ClusterAsync(http), s => s.Nodes.Any(n => n.Name == "b" && n.AppliedSeq == 3), Timeout, "b holds seq 3");

        // Both nodes stop; etcd starts over empty on the same address; both start again on their data directories.
        foreach (var node in new[] { a, b })
        {
            node.Process.Signal(15);
            await node.Process.WaitForExitAsync(Timeout);
        }

        await etcd.StopAsync();
        await etcd.StartEmptyAsync();
        await a.RestartAsync();
        await b.RestartAsync();
        var status = await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader is not null && s.Nodes.Count(n => n.IsLive) == 2, Timeout, "a leader and two live nodes");
        Assert.True(status.Term > oldTerm, $"the term went back from {oldTerm} to {status.Term}");
        var (leader, follower) = status.Leader == "a" ? (a, b) : (b, a);
        await leader.Process.WaitForOutputAsync("[7030]", Timeout);

        // Acknowledged (a sync replica follows the new leader) and on the follower.
        using (var answer = await leader.CreateTradeAsync(http, "AFTER-0"))
        {
            Assert.True(answer.StatusCode == HttpStatusCode.Created, $"{(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync(ct)}; follower output:\n{follower.Process.Output}");
        }

        using (var read = await follower.ReadTradeAsync(http, "AFTER-0", "4"))
        {
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }

        Assert.DoesNotContain("[1320]", follower.Process.Output);
        Assert.Equal(await leader.JournalAsync(http, minSeq: 4), await follower.JournalAsync(http, minSeq: 4));
    }

    private static async Task PostAsync(HttpClient http, NodeProcess node, string id)
    {
        using var answer = await node.CreateTradeAsync(http, id);
        Assert.True(answer.StatusCode == HttpStatusCode.Created, $"{id} on {node.Name}: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
    }
}
