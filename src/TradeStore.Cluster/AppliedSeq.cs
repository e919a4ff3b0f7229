namespace TradeStore.Cluster;

/// <summary>Where the coordinator reads this node's applied seq (the last journal event it holds) for the node registry.</summary>
public sealed class AppliedSeq(Func<long> read)
{
    public long Read() => read();
}
