using System.Net;
using System.Text.Json;
using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// A node that dies stays in <c>GET /v1/cluster</c> and <c>tradestore cluster status</c> once its lease expired, as
/// <c>unreachable</c> with when it was last seen (its member record is not on a lease), until the operator forgets it
/// with <c>tradestore cluster forget</c>. Before, it vanished, and two live nodes of three looked like a healthy cluster.
/// Both commands run from an ops host with only <c>Cluster:Etcd</c> and <c>Cluster:KeyPrefix</c>: they once required
/// the node-only keys <c>Cluster:Node</c> and <c>Cluster:AdvertiseUrl</c>.
/// </summary>
public sealed class MembershipTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    [Fact]
    public async Task KillFollower_AfterItsLeaseExpires_IsListedUnreachableUntilForgotten()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var started = DateTimeOffset.UtcNow;
        await using var a = await NodeProcess.StartAsync("a", _prefix);
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        await using var b = await NodeProcess.StartAsync("b", _prefix);
        using (var created = await a.CreateTradeAsync(http, "U-1"))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Nodes.Count == 2 && s.Nodes.All(n => n.IsLive && n.AppliedSeq == 1), Timeout,
            "both nodes live, each holding the write");
        Assert.Equal(0, await MissingAsync(http, a));

        await b.KillAsync();
        var killed = DateTimeOffset.UtcNow;
        var status = await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Nodes.Any(n => n.Name == "b" && !n.IsLive), Timeout,
            "b listed without a live registration once its lease expired");

        Assert.Equal("a", status.Leader);
        Assert.Equal(2, status.Nodes.Count);
        Assert.Equal(new ClusterNodeStatus("a", a.Url, "leader", 1, 0), status.Nodes[0]);
        var dead = status.Nodes[1];
        Assert.Equal(("b", b.Url, "unreachable", (long?)null, (TruncatedRange?)null), (dead.Name, dead.Url, dead.Role, dead.LagSeq, dead.TruncatedSeq));
        Assert.InRange(dead.LastSeen!.Value, started, killed);
        Assert.InRange(dead.AppliedSeq, 0, 1); // as of its last member record
        await Eventually.MatchAsync(() => MissingAsync(http, a), missing => missing == 1, ClusterCoordinator.MemberRefreshInterval + Timeout, "a exports one missing member");

        // The admin commands run from an ops host: only the etcd keys, no Cluster:Node or AdvertiseUrl, no data directory.
        using var ops = new TempDirectory("cluster-ops");
        var opsHost = new Dictionary<string, string>
        {
            ["TRADESTORE__CLUSTER__ETCD"] = TestServers.Etcd,
            ["TRADESTORE__CLUSTER__KEYPREFIX"] = _prefix,
        };

        var (statusExit, text) = await TradeStoreProcess.RunAsync(["cluster", "status"], ops.Path, opsHost);
        Assert.True(statusExit == 0, text);
        Assert.Contains("nodes    2: 1 live, 1 MISSING (b unreachable)", text);
        Assert.Contains("tradestore cluster forget NODE", text);
        Assert.Matches($@"\n  b +{Regex(b.Url)} +unreachable +\d +- +- +(\d+m )?\d+s ago \(", text);
        var (jsonExit, json) = await TradeStoreProcess.RunAsync(["cluster", "status", "--json"], ops.Path, opsHost);
        Assert.True(jsonExit == 0, json);
        Assert.Equal(status.Nodes, JsonSerializer.Deserialize(json.Trim(), ClusterJson.Default.ClusterStatus)!.Nodes);

        var (liveExit, live) = await TradeStoreProcess.RunAsync(["cluster", "forget", "a"], ops.Path, opsHost);
        Assert.True(liveExit == 1, live);
        Assert.Contains($"node a is running at {a.Url}", live);
        var (unknownExit, unknown) = await TradeStoreProcess.RunAsync(["cluster", "forget", "c"], ops.Path, opsHost);
        Assert.True(unknownExit == 2, unknown);
        Assert.Contains("members: a, b", unknown);

        var (forgetExit, forgot) = await TradeStoreProcess.RunAsync(["cluster", "forget", "b"], ops.Path, opsHost);
        Assert.True(forgetExit == 0, forgot);
        Assert.Contains($"forgot node b ({b.Url}, last seen", forgot);
        var after = await a.ClusterAsync(http);
        Assert.Equal(new ClusterNodeStatus("a", a.Url, "leader", 1, 0), Assert.Single(after.Nodes));
        await Eventually.MatchAsync(() => MissingAsync(http, a), missing => missing == 0, ClusterCoordinator.MemberRefreshInterval + Timeout, "a exports no missing member");
        Assert.Equal(HttpStatusCode.Created, (await a.CreateTradeAsync(http, "U-2")).StatusCode);

        // The keys they use are still checked: exit 2 naming the key, one line.
        var (badEtcdExit, badEtcd) = await TradeStoreProcess.RunAsync(["cluster", "status"], ops.Path,
            new Dictionary<string, string>(opsHost) { ["TRADESTORE__CLUSTER__ETCD"] = "127.0.0.1:2379" });
        Assert.True(badEtcdExit == 2, badEtcd);
        Assert.Contains("Cluster:Etcd: '127.0.0.1:2379' is not an absolute http:// or https:// address", badEtcd);
        var (badPrefixExit, badPrefix) = await TradeStoreProcess.RunAsync(["cluster", "forget", "b"], ops.Path,
            new Dictionary<string, string>(opsHost) { ["TRADESTORE__CLUSTER__KEYPREFIX"] = "tradestore" });
        Assert.True(badPrefixExit == 2, badPrefix);
        Assert.Contains("Cluster:KeyPrefix: must start and end with '/'", badPrefix);
    }

    private static async Task<double> MissingAsync(HttpClient http, NodeProcess node) =>
        PrometheusText.Parse(await http.GetStringAsync($"{node.Url}/metrics", TestContext.Current.CancellationToken))["tradestore_cluster_nodes_missing"].Samples.Single().Value;

    private static string Regex(string text) => System.Text.RegularExpressions.Regex.Escape(text);
}
