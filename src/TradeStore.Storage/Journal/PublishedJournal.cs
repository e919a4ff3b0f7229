using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;

namespace TradeStore.Storage.Journal;

/// <summary>
/// The journal as the sinks and the change feed read it: every event the engine has published (durable in the journal
/// log and, on a leader with synchronous replicas, acknowledged by the cluster), whether DuckDB holds it yet or not. The
/// part DuckDB holds is read from <c>trade_events</c>, the rest from the applier's queue in memory, both taken at one
/// moment, so a read never has a gap. A reader that keeps up, which is the usual case, never touches DuckDB, and DuckDB's
/// apply and checkpoint pauses do not reach it. Before the engine starts, and in the offline tools, it is DuckDB alone.
/// </summary>
public sealed class PublishedJournal(DuckDbDatabase database) : IJournalSource
{
    private readonly JournalReader _duckDb = new(database);
    private volatile Attachment? _engine;

    /// <summary>The highest seq published, 0 when the journal is empty.</summary>
    public long LastSeq() => _engine is { } engine ? engine.Publisher.PublishedSeq : _duckDb.LastSeq();

    public List<TradeEvent> ReadAfter(long afterSeq, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        if (_engine is not { } engine)
        {
            return _duckDb.ReadAfter(afterSeq, limit);
        }

        // The published seq first: every event at or below it is then in DuckDB or in the batches taken below.
        var through = engine.Publisher.PublishedSeq;
        if (afterSeq >= through)
        {
            return [];
        }

        var unapplied = new List<List<TradeEvent>>();
        var applied = engine.Applier.Unapplied(afterSeq, limit, unapplied);
        var events = afterSeq < applied ? _duckDb.ReadRange(afterSeq, Math.Min(applied, through), limit) : new List<TradeEvent>(Math.Min(limit, 1024));
        if (events.Count == limit)
        {
            return events;
        }

        var after = Math.Max(afterSeq, applied);
        foreach (var batch in unapplied)
        {
            if (batch[^1].Seq <= after)
            {
                continue;
            }

            foreach (var e in batch)
            {
                if (e.Seq <= after)
                {
                    continue;
                }

                if (e.Seq > through || events.Count == limit)
                {
                    return events;
                }

                if (events.Count == events.Capacity)
                {
                    events = JournalReader.Grown(events);
                }

                events.Add(e);
            }
        }

        return events;
    }

    /// <summary>Called by the engine once it has replayed the log, before its applier and publisher start.</summary>
    internal void Attach(JournalApplier applier, JournalPublisher publisher) => _engine = new Attachment(applier, publisher);

    private sealed record Attachment(JournalApplier Applier, JournalPublisher Publisher);
}
