using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;

namespace TradeStore.Storage.Integrity;

/// <summary>
/// The journal log's records after DuckDB's last seq, folded: what the next start replays into DuckDB. After a
/// <c>kill -9</c> DuckDB may trail the log, while Redis and ClickHouse, fed from the log's durable events, already hold
/// them; so <c>tradestore verify</c> compares those stores with DuckDB plus this tail (the store as it is once the log is
/// replayed), not with DuckDB alone, which would report the tail as damage. Folded rather than kept, so its memory is
/// bounded by the trades it touches: the latest event of each, the count and the sums of the money columns.
/// </summary>
public sealed class JournalLogTail
{
    private readonly Dictionary<string, TradeEvent> _latest = new(StringComparer.Ordinal);

    private JournalLogTail(long duckDbSeq)
    {
        DuckDbSeq = duckDbSeq;
        LastSeq = duckDbSeq;
    }

    /// <summary>DuckDB's last seq: the tail starts after it.</summary>
    public long DuckDbSeq { get; }

    /// <summary>The tail's last seq (<see cref="DuckDbSeq"/> when it is empty): where the journal ends once the log is replayed.</summary>
    public long LastSeq { get; private set; }

    /// <summary>How many records the next start replays.</summary>
    public long Records { get; private set; }

    /// <summary>
    /// How many records after <see cref="DuckDbSeq"/> were read, each decoded into a readable event, a pending cut
    /// notwithstanding: what <see cref="Engine.JournalLogReplay.CheckReplayable"/> counts, so <c>tradestore verify</c> reads
    /// the tail once.
    /// </summary>
    public long Replayable { get; private set; }

    /// <summary>Whether the log holds nothing DuckDB lacks.</summary>
    public bool IsEmpty => Records == 0;

    /// <summary>Each trade's last event in the tail (a delete included), by trade id.</summary>
    public IReadOnlyDictionary<string, TradeEvent> Latest => _latest;

    /// <summary>Σ quantity over the tail's events (each event's state), as <c>sum(quantity)</c> over <c>trade_events</c> adds it.</summary>
    public decimal QuantitySum { get; private set; }

    /// <summary>Σ filled quantity over the tail's events (each event's state).</summary>
    public decimal FilledQuantitySum { get; private set; }

    /// <summary>Σ price over the tail's events (each event's state).</summary>
    public decimal PriceSum { get; private set; }

    /// <summary>An empty tail after <paramref name="duckDbSeq"/>: the log holds nothing DuckDB lacks, or could not be read.</summary>
    public static JournalLogTail None(long duckDbSeq) => new(duckDbSeq);

    /// <summary>
    /// Reads and decodes, without changing anything, the records of <paramref name="log"/> after <paramref name="duckDbSeq"/>,
    /// and folds those up to <paramref name="through"/> (a pending follower cut ends the journal there; the records after
    /// it are decoded all the same, as the start's check does). <paramref name="cancellationToken"/>
    /// is checked before each record: the tail may be a whole 1 GiB segment (or more) of records, seconds of reading for
    /// <c>tradestore verify</c> stopped with Ctrl-C.
    /// </summary>
    /// <exception cref="JournalLogCorruptException">A record is intact but not an event this binary can read.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static JournalLogTail Read(IJournalLogView log, long duckDbSeq, long through = long.MaxValue, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log);
        var tail = new JournalLogTail(duckDbSeq);
        if (log.IsEmpty || log.LastSeq <= duckDbSeq)
        {
            return tail;
        }

        foreach (var record in log.ReadFrom(duckDbSeq + 1))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var e = EventCodec.Decode(log.Directory, record);
            tail.Replayable++;
            if (record.Seq <= through)
            {
                tail.Add(e);
            }
        }

        return tail;
    }

    /// <summary>
    /// What the comparison was made with, for the output: "DuckDB" or "DuckDB plus N log records to replay at start (seq a..b)",
    /// so a clean report never hides that part of what was compared is not in DuckDB yet.
    /// </summary>
    public string Describe() => IsEmpty
        ? "DuckDB"
        : $"DuckDB plus {Records} log records to replay at start (seq {DuckDbSeq + 1}..{LastSeq})";

    private void Add(TradeEvent e)
    {
        _latest[e.TradeId] = e;
        QuantitySum += e.State.Quantity;
        FilledQuantitySum += e.State.FilledQuantity;
        PriceSum += e.State.Price;
        LastSeq = e.Seq;
        Records++;
    }
}
