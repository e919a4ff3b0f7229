using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>Leader election on a real etcd: one leader, a growing term, the others follow it, and a stop hands over.</summary>
public sealed class ElectionTests
{
    /// <summary>
    /// A guard against a hung test, not a speed bound: each wait here is on etcd, a process of its own, which a starved
    /// machine runs late (20 s until 2026-12-05, below the 30 s to 60 s the suite gives other waits on etcd).
    /// </summary>
    private static readonly TimeSpan ElectionTimeout = TimeSpan.FromSeconds(60);
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    [Fact]
    public async Task Start_ThreeNodes_ExactlyOneLeadsAndTheOthersFollowItInTheSameTerm()
    {
        var etcd = TestServers.Etcd;
        await using var a = await new ClusterNode("a", etcd, _prefix).StartAsync();
        await using var b = await new ClusterNode("b", etcd, _prefix).StartAsync();
        await using var c = await new ClusterNode("c", etcd, _prefix).StartAsync();
        ClusterNode[] nodes = [a, b, c];

        await Eventually.TrueAsync(() => nodes.Count(n => n.State.Role == ClusterRole.Leader) == 1 && nodes.Count(n => n.State.Role == ClusterRole.Follower) == 2,
            ElectionTimeout, "one leader and two followers");

        var leader = nodes.Single(n => n.State.IsLeader);
        Assert.All(nodes, n => Assert.Equal(leader.Name, n.State.Leader!.Name));
        Assert.All(nodes, n => Assert.Equal(leader.State.Term, n.State.Term));
        Assert.All(nodes.Where(n => n != leader), n => Assert.Equal(leader.Options.AdvertiseUrl, n.State.RedirectTarget!.Url));
    }

    [Fact]
    public async Task Stop_Leader_AnotherNodeLeadsInALargerTerm()
    {
        var etcd = TestServers.Etcd;
        await using var a = await new ClusterNode("a", etcd, _prefix).StartAsync();
        await Eventually.TrueAsync(() => a.State.IsLeader, ElectionTimeout, "a leads alone");
        await using var b = await new ClusterNode("b", etcd, _prefix).StartAsync();
        await Eventually.TrueAsync(() => b.State.Role == ClusterRole.Follower, ElectionTimeout, "b follows a");
        var firstTerm = a.State.Term;

        await a.StopAsync();

        Assert.False(a.State.IsLeader);
        await Eventually.TrueAsync(() => b.State.IsLeader, ElectionTimeout, "b leads after a stopped");
        Assert.True(b.State.Term > firstTerm, $"term {b.State.Term} after {firstTerm}");
    }

    [Fact]
    public async Task ReadStatus_TwoNodes_ListsRolesAppliedSeqAndLagBehindTheLeader()
    {
        var etcd = TestServers.Etcd;
        await using var a = await new ClusterNode("a", etcd, _prefix).StartAsync();
        a.AppliedSeq = 40;
        await Eventually.TrueAsync(() => a.State.IsLeader, ElectionTimeout, "a leads");
        await using var b = await new ClusterNode("b", etcd, _prefix).StartAsync();
        b.AppliedSeq = 25;

        // The registry is refreshed at each renewal.
        var status = await Eventually.MatchAsync(() => a.Store.ReadStatusAsync(TestContext.Current.CancellationToken),
            s => s.Nodes.Count == 2 && s.Nodes.All(n => n.AppliedSeq > 0), ElectionTimeout, "both nodes registered with their applied seq");

        Assert.Equal("a", status.Leader);
        Assert.Equal(a.State.Term, status.Term);
        Assert.Equal(new ClusterNodeStatus("a", a.Options.AdvertiseUrl!, "leader", 40, 0), status.Nodes[0]);
        Assert.Equal(new ClusterNodeStatus("b", b.Options.AdvertiseUrl!, "follower", 25, 15), status.Nodes[1]);
    }

    [Fact]
    public async Task Stop_OnlyNode_LeavesNoLeaderAndListsItStoppedUntilForgotten()
    {
        var etcd = TestServers.Etcd;
        var started = DateTimeOffset.UtcNow;
        await using var a = await new ClusterNode("a", etcd, _prefix).StartAsync();
        a.AppliedSeq = 7;
        await Eventually.TrueAsync(() => a.State.IsLeader, ElectionTimeout, "a leads");

        await a.StopAsync();
        var stopped = DateTimeOffset.UtcNow;

        // Its registration went with its lease; its member record says it left, with what it held and when.
        var status = await a.Store.ReadStatusAsync(TestContext.Current.CancellationToken);
        Assert.Null(status.Leader);
        var listed = Assert.Single(status.Nodes);
        Assert.Equal(("a", a.Options.AdvertiseUrl, "stopped", 7L, (long?)null), (listed.Name, listed.Url, listed.Role, listed.AppliedSeq, listed.LagSeq));
        Assert.False(listed.IsLive);
        Assert.InRange(listed.LastSeen!.Value, started, stopped);
        Assert.Equal(listed, Assert.Single(status.Missing));

        var forgotten = await a.Store.ForgetMemberAsync("a", TestContext.Current.CancellationToken);
        Assert.Equal(ForgetOutcome.Forgotten, forgotten.Outcome);
        Assert.Equal(listed.LastSeen, forgotten.Forgotten!.LastSeen);
        Assert.Empty((await a.Store.ReadStatusAsync(TestContext.Current.CancellationToken)).Nodes);
        Assert.Equal(ForgetOutcome.NotAMember, (await a.Store.ForgetMemberAsync("a", TestContext.Current.CancellationToken)).Outcome);
    }

    /// <summary>
    /// While no node leads, a registered node is listed as <c>candidate</c>: it used to be listed as <c>follower</c>, of no
    /// leader, so a cluster with nobody able to lead looked like a healthy set of followers. Once a node leads, it follows.
    /// </summary>
    [Fact]
    public async Task ReadStatus_NoNodeLeads_RegisteredNodeIsACandidateAndFollowsOnceOneLeads()
    {
        var etcd = TestServers.Etcd;
        await using var unfit = await new ClusterNode("b", etcd, _prefix, veto: new AlwaysUnfit()).StartAsync();
        var alone = await Eventually.MatchAsync(() => unfit.Store.ReadStatusAsync(TestContext.Current.CancellationToken), s => s.Nodes.Any(n => n.Name == "b"),
            ElectionTimeout, "b registered");

        Assert.Null(alone.Leader);
        var listed = Assert.Single(alone.Nodes);
        Assert.Equal(("b", ClusterNodeStatus.CandidateRole, (long?)null), (listed.Name, listed.Role, listed.LagSeq));
        Assert.True(listed.IsLive);
        Assert.Empty(alone.Missing);

        await using var a = await new ClusterNode("a", etcd, _prefix).StartAsync();
        var led = await Eventually.MatchAsync(() => unfit.Store.ReadStatusAsync(TestContext.Current.CancellationToken), s => s.Leader == "a" && s.Nodes.Count == 2,
            ElectionTimeout, "a leads and b is listed");
        Assert.Equal([("a", ClusterNodeStatus.LeaderRole), ("b", ClusterNodeStatus.FollowerRole)], led.Nodes.Select(n => (n.Name, n.Role)));
    }

    private sealed class AlwaysUnfit : ILeadershipVeto
    {
        public ValueTask<string?> ReasonNotToLeadAsync(CancellationToken cancellationToken) => ValueTask.FromResult<string?>("a test node that must not lead");
    }
}
