using TradeStore.Core.Trades;

namespace TradeStore.Storage.Journal;

/// <summary>The journal in <c>seq</c> order, as a reader that keeps its own position in it sees it.</summary>
public interface IJournalSource
{
    /// <summary>Up to <paramref name="limit"/> events with <c>seq &gt; afterSeq</c>, in order and without a gap.</summary>
    List<TradeEvent> ReadAfter(long afterSeq, int limit);

    /// <summary>The highest <c>seq</c> this source holds, 0 when empty.</summary>
    long LastSeq();
}
