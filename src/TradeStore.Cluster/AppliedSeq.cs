namespace TradeStore.Cluster;

/// <summary>
/// Where the coordinator reads this node's applied seq (the last journal event it holds) for the node registry, and the
/// term of its log's last record, which the term it may lead in must exceed.
/// </summary>
public sealed class AppliedSeq(Func<long> read, Func<long>? lastTerm = null)
{
    public long Read() => read();

    /// <summary>The term of the last record in this node's journal log; 0 when it holds none (or none is known).</summary>
    public long ReadLastTerm() => lastTerm?.Invoke() ?? 0;
}
