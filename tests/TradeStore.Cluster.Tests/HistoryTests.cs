using System.Net;
using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// The cluster's <c>history</c> key on real processes and a real etcd, with <c>Cluster:SyncReplicas=0</c> (no <c>sync</c>
/// key): a node restarted on an empty disk while every other node is down does not lead (event 7022), so the nodes with
/// data do not cut their logs when they come back; a new cluster of empty nodes still elects a leader.
/// </summary>
public sealed class HistoryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    [Fact]
    public async Task EmptyDisk_AsyncClusterAllKilledOneRestartsWithNothing_DoesNotLeadAndNothingIsCutWhenTheOthersReturn()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await using var a = await NodeProcess.StartAsync("a", _prefix);
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        await using var b = await NodeProcess.StartAsync("b", _prefix);
        await using var c = await NodeProcess.StartAsync("c", _prefix);
        var ids = Enumerable.Range(0, 20).Select(i => $"H-{i}").ToList();
        foreach (var id in ids)
        {
            using var created = await a.CreateTradeAsync(http, id);
            Assert.True(created.StatusCode == HttpStatusCode.Created, $"{id}: {(int)created.StatusCode}");
        }

        // Asynchronous: wait until both followers hold everything, so whichever of them leads later has all of it.
        // (The registry's applied seq is refreshed at each renewal; one create is one event.)
        var caughtUp = await Eventually.MatchAsync(() => a.ClusterAsync(http),
            s => s.Nodes.Count == 3 && s.Nodes.All(n => n.AppliedSeq >= ids.Count) && s.Nodes.Select(n => n.AppliedSeq).Distinct().Count() == 1, Timeout,
            $"all three nodes hold the same seq, at least {ids.Count}");
        var lastSeq = caughtUp.Nodes[0].AppliedSeq;
        using var store = new EtcdClusterStore(new ClusterOptions { Etcd = TestServers.Etcd, Node = "test", AdvertiseUrl = "http://test:1", KeyPrefix = _prefix });
        var (sync, _) = await store.ReadSyncAsync(ct);
        Assert.Null(sync); // SyncReplicas=0 writes no sync key: only the history key stands in the empty node's way
        var history = await Eventually.MatchAsync(() => store.ReadHistoryAsync(ct), h => h is not null, Timeout, "the leader recorded the history");
        Assert.True(history!.Seq >= 1, $"history seq {history.Seq}");

        // Every node dies; a's disk is replaced, and a comes back first, alone: every other key expired with its lease.
        await Task.WhenAll(a.KillAsync(), b.KillAsync(), c.KillAsync());
        await a.StartAgainAsync(emptyDirectory: true);
        await Eventually.TrueAsync(() => a.Process.Output.Contains("[7022]", StringComparison.Ordinal), Timeout, "a says it does not campaign with an empty log (7022)");
        await Task.Delay(TimeSpan.FromSeconds(3), ct);
        var alone = await a.ClusterAsync(http);
        Assert.Null(alone.Leader);
        Assert.DoesNotContain("[7004]", a.Process.Output);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(a.Process.Output, @"\[7022\]")); // logged once, not at every look
        Assert.NotNull(await store.ReadHistoryAsync(ct));

        // The nodes with data come back: one of them leads, a follows and catches up, and nobody cuts anything.
        await Task.WhenAll(b.StartAgainAsync(), c.StartAgainAsync());
        var status = await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader is not null, Timeout, "a leader once b and c are back");
        Assert.Contains(status.Leader, new[] { "b", "c" });
        foreach (var node in new[] { a, b, c })
        {
            // A node answers 503 while it has not reached minSeq within the read's bound: on a loaded machine a's
            // catch-up from an empty disk may outlast it (and a second election may restart its stream), so wait for it.
            await Eventually.MatchAsync(async () =>
            {
                using var reached = await http.GetAsync($"{node.Url}/v1/trades/{ids[^1]}?minSeq={lastSeq}", ct);
                return reached.StatusCode;
            }, code => code != HttpStatusCode.ServiceUnavailable, Timeout, $"{node.Name} reaches seq {lastSeq}");
            foreach (var id in ids)
            {
                using var read = await http.GetAsync($"{node.Url}/v1/trades/{id}?minSeq={lastSeq}", ct);
                Assert.True(read.StatusCode == HttpStatusCode.OK, $"{id} on {node.Name}: {(int)read.StatusCode}\n{node.Process.Output}");
            }

            Assert.False(node.Process.HasExited, $"{node.Name} exited with {(node.Process.HasExited ? node.Process.ExitCode : 0)}\n{node.Process.Output}");
            Assert.DoesNotContain("[1317]", node.Process.Output);
            Assert.DoesNotContain("[1318]", node.Process.Output);
        }

        Assert.DoesNotContain("[7004]", a.Process.Output);
        using (var next = await a.CreateTradeAsync(http, "H-after"))
        {
            Assert.Equal(HttpStatusCode.Created, next.StatusCode); // followed from a to the new leader
        }
    }

    [Fact]
    public async Task NewCluster_ThreeEmptyNodes_ElectALeaderAndItRecordsTheHistoryOnceItHoldsARecord()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await using var a = await NodeProcess.StartAsync("a", _prefix, waitUntilAnswering: false);
        await using var b = await NodeProcess.StartAsync("b", _prefix, waitUntilAnswering: false);
        await using var c = await NodeProcess.StartAsync("c", _prefix, waitUntilAnswering: false);
        NodeProcess[] nodes = [a, b, c];
        foreach (var node in nodes)
        {
            await node.Process.WaitUntilAnsweringAsync($"{node.Url}/health/live", Timeout);
        }

        var status = await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader is not null && s.Nodes.Count == 3, Timeout, "a leader among three empty nodes");
        using var store = new EtcdClusterStore(new ClusterOptions { Etcd = TestServers.Etcd, Node = "test", AdvertiseUrl = "http://test:1", KeyPrefix = _prefix });
        Assert.Null(await store.ReadHistoryAsync(ct)); // no record yet: nothing to protect
        Assert.All(nodes, n => Assert.DoesNotContain("[7022]", n.Process.Output));

        using (var created = await a.CreateTradeAsync(http, "N-1"))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var history = await Eventually.MatchAsync(() => store.ReadHistoryAsync(ct), h => h is not null, Timeout, "the leader records the history after its first write");
        Assert.Equal(status.Leader, history!.Leader);
        Assert.Equal(status.Term, history.Term);
        Assert.Equal(1, history.Seq);
    }
}
