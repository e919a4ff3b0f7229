using System.Net;
using System.Text.Json;
using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>Two real <c>tradestore serve</c> processes on the test etcd: writes to the follower go to the leader.</summary>
public sealed class RedirectTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    [Fact]
    public async Task Write_OnFollower_Answers307ToTheSamePathOnTheLeaderAndSucceedsWhenFollowed()
    {
        await using var leader = await NodeProcess.StartAsync("a", _prefix);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        await Eventually.MatchAsync(() => leader.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        await using var follower = await NodeProcess.StartAsync("b", _prefix);

        var redirect = await Eventually.MatchAsync(
            () => http.PostAsync($"{follower.Url}/v1/trades?source=test", NodeProcess.Trade("R-1"), TestContext.Current.CancellationToken),
            r => r.StatusCode != HttpStatusCode.ServiceUnavailable, Timeout, "b knows the leader");
        Assert.Equal(HttpStatusCode.TemporaryRedirect, redirect.StatusCode);
        Assert.Equal(new Uri($"{leader.Url}/v1/trades?source=test"), redirect.Headers.Location);
        Assert.Equal((await leader.ClusterAsync(http)).Term.ToString(System.Globalization.CultureInfo.InvariantCulture), redirect.Headers.GetValues("TradeStore-Term").Single());
        using var notApplied = await http.GetAsync($"{leader.Url}/v1/trades/R-1", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, notApplied.StatusCode);

        using var following = new HttpClient(); // follows 307 with the same method and body
        using var created = await following.PostAsync($"{follower.Url}/v1/trades", NodeProcess.Trade("R-2"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var read = await http.GetAsync($"{leader.Url}/v1/trades/R-2", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
    }

    /// <summary>
    /// A write on a follower with <c>?minSeq=</c> is redirected at once, with <c>minSeq</c> kept in the <c>Location</c>:
    /// it used to wait for a seq the follower does not hold and answer <c>503 seq-not-reached</c>, or redirect with
    /// <c>minSeq</c> taken off the query.
    /// </summary>
    [Fact]
    public async Task Write_OnFollowerWithMinSeq_Answers307AtOnceWithMinSeqKeptInTheLocation()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var leader = await NodeProcess.StartAsync("a", _prefix);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        await Eventually.MatchAsync(() => leader.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        await using var follower = await NodeProcess.StartAsync("b", _prefix);
        await Eventually.MatchAsync(() => http.PostAsync($"{follower.Url}/v1/trades", NodeProcess.Trade("W-0"), ct),
            r => r.StatusCode == HttpStatusCode.TemporaryRedirect, Timeout, "b redirects to a");

        // Far beyond anything written: a wait for it would end in 503 seq-not-reached.
        using var redirect = await http.PostAsync($"{follower.Url}/v1/trades?minSeq=999999", NodeProcess.Trade("W-1"), ct);
        Assert.True(redirect.StatusCode == HttpStatusCode.TemporaryRedirect, $"{(int)redirect.StatusCode} {await redirect.Content.ReadAsStringAsync(ct)}");
        Assert.Equal(new Uri($"{leader.Url}/v1/trades?minSeq=999999"), redirect.Headers.Location);
        using var notApplied = await http.GetAsync($"{leader.Url}/v1/trades/W-1", ct);
        Assert.Equal(HttpStatusCode.NotFound, notApplied.StatusCode);

        // A read still waits for the seq.
        using var read = await http.GetAsync($"{follower.Url}/v1/trades/W-1?minSeq=999999", ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, read.StatusCode);
        Assert.Contains("seq-not-reached", await read.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClusterStatus_TwoNodes_EndpointAndCommandShowTheLeaderTermAndBothNodes()
    {
        await using var a = await NodeProcess.StartAsync("a", _prefix);
        using var http = new HttpClient();
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        await using var b = await NodeProcess.StartAsync("b", _prefix);
        using var created = await a.CreateTradeAsync(http, "S-1");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        // b replicates the write; once both registered it, the status is stable for the comparison with the command.
        var status = await Eventually.MatchAsync(() => b.ClusterAsync(http), s => s.Nodes.Count == 2 && s.Nodes.All(n => n.AppliedSeq == 1), Timeout,
            "both nodes registered, each holding the write");
        Assert.Equal("a", status.Leader);
        Assert.Equal(new ClusterNodeStatus("a", a.Url, "leader", 1, 0), status.Nodes[0]);
        Assert.Equal(new ClusterNodeStatus("b", b.Url, "follower", 1, 0), status.Nodes[1]);

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["cluster", "status"], b.DataDirectory, b.Environment);
        Assert.True(exitCode == 0, output);
        Assert.Contains($"leader   a (term {status.Term})", output);
        Assert.Contains(a.Url, output);
        Assert.Contains(b.Url, output);

        var (jsonExit, json) = await TradeStoreProcess.RunAsync(["cluster", "status", "--json"], b.DataDirectory, b.Environment);
        Assert.Equal(0, jsonExit);
        var printed = JsonSerializer.Deserialize(json.Trim(), ClusterJson.Default.ClusterStatus)!;
        Assert.Equal(status.Leader, printed.Leader);
        Assert.Equal(status.Term, printed.Term);
        Assert.Equal(status.Nodes, printed.Nodes);
    }

    [Fact]
    public async Task Metrics_LeaderAndFollower_EachExportsItsRoleAndTheTerm()
    {
        await using var a = await NodeProcess.StartAsync("a", _prefix);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        await using var b = await NodeProcess.StartAsync("b", _prefix);
        await Eventually.MatchAsync(() => http.PostAsync($"{b.Url}/v1/trades", NodeProcess.Trade("M-1"), TestContext.Current.CancellationToken),
            r => r.StatusCode == HttpStatusCode.TemporaryRedirect, Timeout, "b redirects to a");
        var term = (await a.ClusterAsync(http)).Term;

        // Both gauges read the node's own lease clock: on a starved machine a renewal can come late, and for a moment a
        // stops acknowledging (leader 0) and b stops redirecting (leader_known 0) while etcd still names a (clean-clone CIs
        // at load ~20 read each once, 2026-12-05).
        var onA = await Eventually.MatchAsync(async () => PrometheusText.Parse(await http.GetStringAsync($"{a.Url}/metrics", TestContext.Current.CancellationToken)),
            m => m["tradestore_cluster_leader"].Samples.Single().Value == 1, Timeout, "a exports that it leads");
        var onB = await Eventually.MatchAsync(async () => PrometheusText.Parse(await http.GetStringAsync($"{b.Url}/metrics", TestContext.Current.CancellationToken)),
            m => m["tradestore_cluster_leader_known"].Samples.Single().Value == 1, Timeout, "b exports that it knows the leader");

        Assert.Equal(0, onB["tradestore_cluster_leader"].Samples.Single().Value);
        Assert.Equal(term, onB["tradestore_cluster_term"].Samples.Single().Value);
        Assert.Contains(onB["tradestore_cluster_writes_refused_total"].Samples, s => s.Labels["reason"] == "redirected" && s.Value >= 1);
        Assert.False(onB.ContainsKey("tradestore_replication_follower_lag"), "a follower reports no followers");
        // One etcd connection each, kept since start-up.
        Assert.Equal(1, onA["tradestore_cluster_etcd_connections_total"].Samples.Single().Value);
        Assert.Equal(1, onB["tradestore_cluster_etcd_connections_total"].Samples.Single().Value);

        // After a write on the leader, the leader reports b as a follower that holds it (lag 0).
        Assert.Equal(HttpStatusCode.Created, (await a.CreateTradeAsync(http, "M-2")).StatusCode);
        await Eventually.MatchAsync(async () => PrometheusText.Parse(await http.GetStringAsync($"{a.Url}/metrics", TestContext.Current.CancellationToken)),
            m => m.TryGetValue("tradestore_replication_follower_lag", out var lag) && lag.Samples.Any(s => s.Labels["follower"] == "b" && s.Value == 0),
            Timeout, "a reports follower b with lag 0");
    }

    [Fact]
    public async Task ClusterStatus_NotConfigured_ExitsTwoNamingTheKey()
    {
        using var directory = new TempDirectory("cluster-none");

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["cluster", "status"], directory.Path);

        Assert.Equal(2, exitCode);
        Assert.Contains("Cluster:Etcd", output);
    }

    /// <summary>A prefix no node uses (a typo in Cluster:KeyPrefix) read as an empty cluster without a word of why.</summary>
    [Fact]
    public async Task ClusterStatus_PrefixNoNodeUses_ExitsOneSayingNothingIsRegisteredThere()
    {
        using var directory = new TempDirectory("cluster-empty-prefix");
        var environment = new Dictionary<string, string>
        {
            ["TRADESTORE__CLUSTER__ETCD"] = TestServers.Etcd,
            ["TRADESTORE__CLUSTER__NODE"] = "a",
            ["TRADESTORE__CLUSTER__ADVERTISEURL"] = "http://127.0.0.1:5080",
            ["TRADESTORE__CLUSTER__KEYPREFIX"] = _prefix,
        };

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["cluster", "status"], directory.Path, environment);

        Assert.True(exitCode == 1, output);
        Assert.Contains("leader   NONE", output);
        Assert.Contains($"Nothing is registered under {_prefix}", output);
        Assert.Contains("Cluster:KeyPrefix", output);
    }

    [Fact]
    public async Task ClusterStatus_EtcdRefuses_ExitsOneNamingTheCauseOnce()
    {
        using var directory = new TempDirectory("cluster-refused");
        var etcd = $"http://127.0.0.1:{FreePort.Next()}";
        var environment = new Dictionary<string, string>
        {
            ["TRADESTORE__CLUSTER__ETCD"] = etcd,
            ["TRADESTORE__CLUSTER__NODE"] = "a",
            ["TRADESTORE__CLUSTER__ADVERTISEURL"] = "http://127.0.0.1:5080",
        };

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["cluster", "status"], directory.Path, environment);

        Assert.Equal(1, exitCode);
        Assert.Contains($"etcd {etcd} did not answer", output);
        Assert.Contains("Connection refused", output);
        Assert.DoesNotContain("StatusCode", output); // the cause, not gRPC's status dump
    }

    /// <summary>
    /// A well-formed <c>Cluster:AdvertiseUrl</c> that does not reach the node (a wrong port) passed validation and nothing
    /// said so: the node registered it, followed, and would have sent every redirected write and every follower's stream
    /// to it once it led. Now the node warns at start (event 1321) naming the setting and the address.
    /// </summary>
    [Fact]
    public async Task AdvertiseUrl_WrongPort_TheNodeWarnsNamingTheSettingOnceItListens()
    {
        using var refusing = new RefusingPort();
        var wrong = $"http://127.0.0.1:{refusing.Port}";
        await using var a = await NodeProcess.StartAsync("a", _prefix, new Dictionary<string, string> { ["TRADESTORE__CLUSTER__ADVERTISEURL"] = wrong });
        await a.Process.WaitForOutputAsync("[1321]", TimeSpan.FromSeconds(60));
        Assert.Contains($"Cluster:AdvertiseUrl {wrong} does not reach this node (a) from itself", a.Process.Output);
    }
}
