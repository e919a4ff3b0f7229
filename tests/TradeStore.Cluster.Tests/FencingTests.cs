using System.Net;
using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// A leader cut off from etcd stops acknowledging before its lease can expire: at the moment it stops, etcd still
/// holds its lease and its leader key, so no other node can have been elected yet.
/// </summary>
public sealed class FencingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    [Fact]
    public async Task CutOff_Leader_StopsAcknowledgingWhileEtcdStillHoldsItsLeaseThenFollowsTheNewLeader()
    {
        var etcd = TestServers.Etcd;
        using var relay = new TcpRelay(new Uri(etcd));
        // A long lease, so "before expiry" is seconds, not etcd's one-second rounding of the remaining TTL.
        var ttl = TimeSpan.FromSeconds(10);
        await using var a = await new ClusterNode("a", relay.Url, _prefix, ttl).StartAsync();
        await Eventually.TrueAsync(() => a.State.IsLeader, Timeout, "a leads");
        await using var b = await new ClusterNode("b", etcd, _prefix, ttl).StartAsync();
        await Eventually.TrueAsync(() => b.State.Role == ClusterRole.Follower, Timeout, "b follows a");
        var lease = a.Coordinator.LeaseId;
        var term = a.State.Term;

        relay.Cut();
        await Eventually.TrueAsync(() => !a.State.IsLeader, Timeout, "a stops acknowledging");

        using var observer = new EtcdClusterStore(b.Options);
        var remaining = await observer.TimeToLiveAsync(lease, TestContext.Current.CancellationToken);
        var status = await observer.ReadStatusAsync(TestContext.Current.CancellationToken);
        Assert.True(remaining > TimeSpan.Zero, "a stopped acknowledging only after etcd expired its lease");
        Assert.Equal("a", status.Leader);
        Assert.Equal(term, status.Term);

        await Eventually.TrueAsync(() => b.State.IsLeader, Timeout, "b leads once a's lease expired");
        Assert.True(b.State.Term > term);
        Assert.False(a.State.IsLeader);

        relay.Restore();
        await Eventually.TrueAsync(() => a.State.Role == ClusterRole.Follower && a.State.Leader?.Name == "b", Timeout, "a follows b after it reaches etcd again");
        Assert.Equal(b.State.Term, a.State.Term);
        // The cut closed a's etcd connection: a reconnected, which its tradestore_cluster_etcd_connections counts.
        Assert.True(a.Store.EtcdConnections >= 2, $"a opened {a.Store.EtcdConnections} etcd connection(s)");
    }

    [Fact]
    public async Task CutOff_FollowerBriefly_LeaderKeepsLeadingAndFollowerRejoins()
    {
        var etcd = TestServers.Etcd;
        using var relay = new TcpRelay(new Uri(etcd));
        await using var a = await new ClusterNode("a", etcd, _prefix).StartAsync();
        await Eventually.TrueAsync(() => a.State.IsLeader, Timeout, "a leads");
        await using var b = await new ClusterNode("b", relay.Url, _prefix).StartAsync();
        await Eventually.TrueAsync(() => b.State.Role == ClusterRole.Follower, Timeout, "b follows a");
        var term = a.State.Term;

        relay.Cut();
        await Eventually.TrueAsync(() => !b.State.Clock.IsValid, Timeout, "b's own lease runs out on its clock");
        relay.Restore();
        await Eventually.MatchAsync(() => a.Store.ReadStatusAsync(TestContext.Current.CancellationToken),
            s => s.Nodes.Any(n => n.Name == "b" && n.IsLive) && b.State.Role == ClusterRole.Follower, Timeout, "b registered again and following");

        Assert.True(a.State.IsLeader);
        Assert.Equal(term, a.State.Term);
        Assert.Equal("a", b.State.Leader!.Name);
    }

    /// <summary>
    /// A follower that cannot reach etcd cannot know who leads: before, it went on redirecting writes (307) to the leader
    /// it last saw for as long as the cut lasted, and its readiness said it followed it, whether that node still led, had
    /// lost its lease, or had died (then the client's redirected write met a refused connection instead of a 503 with
    /// Retry-After). Now, once its own lease has run out on its clock, it answers <c>503 no-leader</c> and says so in
    /// readiness, and redirects again once it reaches etcd.
    /// </summary>
    [Fact]
    public async Task CutOff_FollowerFromEtcdPastItsLease_AnswersNoLeaderInsteadOfRedirectingThenRedirectsAgain()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
        using var relay = new TcpRelay(new Uri(TestServers.Etcd));
        await using var a = await NodeProcess.StartAsync("a", _prefix);
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        await using var b = await NodeProcess.StartAsync("b", _prefix, new Dictionary<string, string> { ["TRADESTORE__CLUSTER__ETCD"] = relay.Url });
        await Eventually.MatchAsync(() => WriteStatusAsync(http, b), status => status == HttpStatusCode.TemporaryRedirect, Timeout, "b redirects writes to a");

        relay.Cut();
        await Eventually.MatchAsync(() => WriteStatusAsync(http, b), status => status == HttpStatusCode.ServiceUnavailable, Timeout,
            $"b answers 503 once its lease ran out; its output:\n{b.Process.Output}");
        using (var refused = await http.PostAsync($"{b.Url}/v1/trades", NodeProcess.Trade("CUT-1"), ct))
        {
            Assert.Contains("urn:tradestore:problem:no-leader", await refused.Content.ReadAsStringAsync(ct));
            Assert.Equal("1", refused.Headers.RetryAfter?.ToString());
        }

        using (var ready = await http.GetAsync($"{b.Url}/health/ready", ct))
        {
            var body = await ready.Content.ReadAsStringAsync(ct);
            Assert.Contains("knows no leader", body);
        }

        relay.Restore();
        await Eventually.MatchAsync(() => WriteStatusAsync(http, b), status => status == HttpStatusCode.TemporaryRedirect, Timeout, "b redirects to a again");
        using var followed = await a.CreateTradeAsync(http, "CUT-2");
        Assert.Equal(HttpStatusCode.Created, followed.StatusCode);
    }

    /// <summary>The status of an unkeyed create of a new trade sent to <paramref name="node"/> (not followed).</summary>
    private static async Task<HttpStatusCode> WriteStatusAsync(HttpClient http, NodeProcess node)
    {
        using var answer = await http.PostAsync($"{node.Url}/v1/trades", NodeProcess.Trade($"PROBE-{Guid.NewGuid():N}"), TestContext.Current.CancellationToken);
        return answer.StatusCode;
    }
}
