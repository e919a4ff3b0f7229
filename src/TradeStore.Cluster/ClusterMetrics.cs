using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace TradeStore.Cluster;

/// <summary>
/// Instruments of the meter <c>TradeStore.Cluster</c> (exported on <c>/metrics</c>): whether this node leads, the term,
/// whether any leader is known, how far this node trails the leader, and the writes turned away.
/// </summary>
public static class ClusterMetrics
{
    public const string MeterName = "TradeStore.Cluster";

    private static readonly Meter Meter = new(MeterName);
    private static readonly ConcurrentDictionary<ClusterState, NodeFigures> Nodes = new();
    private static readonly Counter<long> Refused = Meter.CreateCounter<long>("tradestore.cluster.writes.refused", "{request}",
        "Writes this node did not acknowledge, by reason: redirected (307 to the leader), no_leader (503), lease_lost (503 after the fence).");

    static ClusterMetrics()
    {
        Meter.CreateObservableGauge("tradestore.cluster.leader", () => Nodes.Keys.Sum(s => s.IsLeader ? 1 : 0), "{node}",
            "1 while this node leads and may acknowledge writes, else 0.");
        Meter.CreateObservableGauge("tradestore.cluster.leader.known", () => Nodes.Keys.Sum(s => s.Role == ClusterRole.Candidate ? 0 : 1), "{node}",
            "1 while this node knows a leader it can send writes to (itself or another node), else 0.");
        Meter.CreateObservableGauge("tradestore.cluster.term", () => Nodes.Keys.Select(s => s.Term).DefaultIfEmpty(0).Max(), "{term}",
            "Term of the current leader (the leader key's etcd create revision).");
        Meter.CreateObservableGauge("tradestore.cluster.lag.seq", () => Nodes.Values.Select(f => Volatile.Read(ref f.LagSeq)).DefaultIfEmpty(0).Max(), "{event}",
            "Events this node's applied seq trails the leader's, as of the last registry read (0 on the leader).");
    }

    /// <summary>A write was turned away; <paramref name="reason"/> is <c>redirected</c>, <c>no_leader</c> or <c>lease_lost</c>.</summary>
    public static void WriteRefused(string reason) => Refused.Add(1, new KeyValuePair<string, object?>("reason", reason));

    internal static void Track(ClusterState state) => Nodes.TryAdd(state, new NodeFigures());

    internal static void Untrack(ClusterState state) => Nodes.TryRemove(state, out _);

    internal static void SetLag(ClusterState state, long lag)
    {
        if (Nodes.TryGetValue(state, out var figures))
        {
            Volatile.Write(ref figures.LagSeq, lag);
        }
    }

    private sealed class NodeFigures
    {
        public long LagSeq;
    }
}
