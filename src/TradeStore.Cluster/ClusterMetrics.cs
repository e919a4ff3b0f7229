using System.Diagnostics.Metrics;
using TradeStore.Core.Metrics;

namespace TradeStore.Cluster;

/// <summary>
/// Instruments of the meter <c>TradeStore.Cluster</c> (exported on <c>/metrics</c>): whether this node leads, the term,
/// whether any leader is known, how far this node trails the leader, how many members are missing, the writes turned away,
/// the connections opened to etcd, and what synchronous replication costs (the leader's wait for its followers, a follower's time to make a chunk
/// durable). One per node, from the host's <see cref="IMeterFactory"/>.
/// </summary>
public sealed class ClusterMetrics
{
    public const string MeterName = "TradeStore.Cluster";

    private readonly ZeroBasedCounter _refused;
    private readonly Histogram<double> _replicationWait;
    private readonly Histogram<double> _followerDurable;
    private long _lagSeq;
    private long _missing;

    /// <param name="etcdConnections">The connections this node opened to etcd so far (<see cref="EtcdClusterStore.EtcdConnections"/>).</param>
    public ClusterMetrics(IMeterFactory meterFactory, ClusterState state, Func<long> etcdConnections)
    {
        var meter = meterFactory.Create(MeterName);
        _refused = new ZeroBasedCounter(meter, "tradestore.cluster.writes.refused", "{request}",
            "Writes this node did not acknowledge, by reason: redirected (307 to the leader), no_leader (503), lease_lost (503 after the fence).", "reason");
        foreach (var reason in new[] { "redirected", "no_leader", "lease_lost" })
        {
            _refused.Series(reason);
        }
        meter.CreateObservableGauge("tradestore.cluster.leader", () => state.IsLeader ? 1 : 0, "{node}",
            "1 while this node leads and may acknowledge writes, else 0.");
        meter.CreateObservableGauge("tradestore.cluster.leader.known", () => state.IsLeader || state.WriteTarget is not null ? 1 : 0, "{node}",
            "1 while this node knows a leader it can send writes to (itself or another node), else 0.");
        meter.CreateObservableGauge("tradestore.cluster.term", () => state.Term, "{term}",
            "Term of the current leader (the leader key's etcd create revision, plus the term base after an etcd that started over).");
        meter.CreateObservableGauge("tradestore.cluster.lag.seq", () => Volatile.Read(ref _lagSeq), "{event}",
            "Events this node's applied seq trails the leader's, as of the last registry read (0 on the leader).");
        meter.CreateObservableGauge("tradestore.cluster.nodes.missing", () => Volatile.Read(ref _missing), "{node}",
            "Members of the cluster (nodes that joined and were not forgotten) with no live registration in etcd, stopped or unreachable, as of the last registry read.");
        meter.CreateObservableCounter("tradestore.cluster.etcd.connections", etcdConnections, "{connection}",
            "Connections this node opened to etcd. One is kept at a time, so a rising count means connections failed and were opened again, possibly to another endpoint of Cluster:Etcd.");
        _replicationWait = meter.CreateHistogram("tradestore.replication.wait.duration", "s",
            "On the leader: how long a group commit waited, after its own fsync, for Cluster:SyncReplicas followers to acknowledge it " +
            "(0 when they already had; a wait that ran into Cluster:ReplicationTimeout counts in full).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5] });
        _followerDurable = meter.CreateHistogram("tradestore.replication.follower.durable.duration", "s",
            "On a follower: from the arrival of a chunk of the leader's stream to its records being appended and fsynced here, when their acknowledgement is sent.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1] });
    }

    /// <summary>A write was turned away; <paramref name="reason"/> is <c>redirected</c>, <c>no_leader</c> or <c>lease_lost</c>.</summary>
    public void WriteRefused(string reason) => _refused.Series(reason).Add();

    /// <summary>A synchronous group's wait for its followers ended (acknowledged or timed out) after <paramref name="waited"/>.</summary>
    public void ReplicationWaited(TimeSpan waited) => _replicationWait.Record(waited.TotalSeconds);

    /// <summary>A follower made a chunk of the leader's stream durable <paramref name="took"/> after it arrived.</summary>
    public void FollowerChunkDurable(TimeSpan took) => _followerDurable.Record(took.TotalSeconds);

    internal void SetLag(long lag) => Volatile.Write(ref _lagSeq, lag);

    internal void SetMissing(long missing) => Volatile.Write(ref _missing, missing);
}
