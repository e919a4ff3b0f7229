using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// The lease renewals run on a loop of their own: a registry refresh that hangs (each is an etcd write, which waits for
/// etcd's fsync) never delays them. Here the refresh is held for three lease TTLs; the leader keeps its lease and its
/// term. When the refresh ran on the renewal loop, the same stall let etcd expire the lease and the leader key with it.
/// </summary>
public sealed class RenewalTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    [Fact]
    public async Task RegistryRefreshStalled_LeaderKeepsItsLeaseAndTerm()
    {
        var ct = TestContext.Current.CancellationToken;
        // 5 s, not 3: the renewals (every ttl/3) must reach etcd within ttl on a loaded machine too; a stall of three TTLs
        // still outlives any lease that depends on the stalled loop.
        var ttl = TimeSpan.FromSeconds(5);
        await using var a = await new ClusterNode("a", TestServers.Etcd, _prefix, ttl).StartAsync();
        await Eventually.TrueAsync(() => a.State.IsLeader, Timeout, "a leads");
        var lease = a.Coordinator.LeaseId;
        var term = a.State.Term;

        using (a.StallAppliedSeqReads())
        {
            await Task.Delay(3 * ttl, ct);
            using var observer = new EtcdClusterStore(a.Options);
            Assert.True(await observer.TimeToLiveAsync(lease, ct) > TimeSpan.Zero, "etcd expired a's lease while only its registry refresh was stalled");
            var status = await observer.ReadStatusAsync(ct);
            Assert.Equal("a", status.Leader);
            Assert.Equal(term, status.Term);
        }

        await Eventually.TrueAsync(() => a.State.IsLeader, Timeout, "a leads after the stall");
        Assert.Equal(lease, a.Coordinator.LeaseId);
        Assert.Equal(term, a.State.Term);
    }
}
