using System.Diagnostics.Metrics;
using TradeStore.Core.Metrics;

namespace TradeStore.Cluster;

/// <summary>
/// Instruments of the meter <c>TradeStore.Cluster</c> (exported on <c>/metrics</c>): whether this node leads, the term,
/// whether any leader is known, how far this node trails the leader, how many members are missing, and the writes turned away. One per node, from the
/// host's <see cref="IMeterFactory"/>.
/// </summary>
public sealed class ClusterMetrics
{
    public const string MeterName = "TradeStore.Cluster";

    private readonly ZeroBasedCounter _refused;
    private long _lagSeq;
    private long _missing;

    public ClusterMetrics(IMeterFactory meterFactory, ClusterState state)
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
        meter.CreateObservableGauge("tradestore.cluster.leader.known", () => state.Role == ClusterRole.Candidate ? 0 : 1, "{node}",
            "1 while this node knows a leader it can send writes to (itself or another node), else 0.");
        meter.CreateObservableGauge("tradestore.cluster.term", () => state.Term, "{term}",
            "Term of the current leader (the leader key's etcd create revision).");
        meter.CreateObservableGauge("tradestore.cluster.lag.seq", () => Volatile.Read(ref _lagSeq), "{event}",
            "Events this node's applied seq trails the leader's, as of the last registry read (0 on the leader).");
        meter.CreateObservableGauge("tradestore.cluster.nodes.missing", () => Volatile.Read(ref _missing), "{node}",
            "Members of the cluster (nodes that joined and were not forgotten) with no live registration in etcd, stopped or unreachable, as of the last registry read.");
    }

    /// <summary>A write was turned away; <paramref name="reason"/> is <c>redirected</c>, <c>no_leader</c> or <c>lease_lost</c>.</summary>
    public void WriteRefused(string reason) => _refused.Series(reason).Add();

    internal void SetLag(long lag) => Volatile.Write(ref _lagSeq, lag);

    internal void SetMissing(long missing) => Volatile.Write(ref _missing, missing);
}
