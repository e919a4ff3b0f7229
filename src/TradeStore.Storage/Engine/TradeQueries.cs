using TradeStore.Core.Trades;
using TradeStore.Storage.Journal;

namespace TradeStore.Storage.Engine;

/// <summary>
/// The read side: point reads, positions and lists from the in-memory <see cref="StateIndex"/>, history from the
/// journal. Lists walk the index's ordered indexes with keyset pagination on (executed_at, trade_id), so a page
/// boundary never moves when trades are inserted concurrently, and a page costs the same at any book size
/// (docs/reads.md). The index is exact at acknowledgement, so neither the <c>trade_state</c> flusher nor the sinks
/// decide what or how fast a list answers.
/// </summary>
public sealed class TradeQueries(DuckDbDatabase database, StateIndex index, WriteEngine? engine = null) : ITradeQueries
{
    private readonly JournalReader _journal = new(database);

    public Trade? GetTrade(string tradeId) => index.GetLive(tradeId);

    /// <summary>Every event of the trade, oldest first (deleted trades included); empty when unknown. For tools and tests: the API reads pages.</summary>
    public IReadOnlyList<TradeEvent> GetHistory(string tradeId) => ReadHistory(tradeId, 0, int.MaxValue);

    /// <exception cref="FormatException">The cursor was not issued for this trade's history.</exception>
    public TradeHistoryPage GetHistory(string tradeId, int limit, string? cursor = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var after = cursor is null ? 0 : HistoryCursor.Decode(cursor, tradeId);

        // One event more than a page tells whether a next page exists.
        var events = ReadHistory(tradeId, after, (int)Math.Min(int.MaxValue, limit + 1L));
        string? next = null;
        if (events.Count > limit)
        {
            events.RemoveAt(events.Count - 1);
            next = HistoryCursor.Encode(events[^1].Version, tradeId);
        }

        // An account is never amended: any event names it. A page past the last event names none, the index still does.
        return new TradeHistoryPage(events.Count > 0 ? events[0].State.Account : index.Find(tradeId)?.Account, events, next);
    }

    /// <summary>Up to <paramref name="take"/> events of the trade with a version above <paramref name="afterVersion"/>, oldest first.</summary>
    /// <remarks>
    /// DuckDB's journal trails the acknowledgements by the apply lag, so what it does not hold yet comes from the events
    /// waiting to be applied, taken at the same moment: exact at acknowledgement, like a point read, and without waiting
    /// for a DuckDB commit (a machine too busy to apply within seconds once made a just-created trade's history 404).
    /// </remarks>
    private List<TradeEvent> ReadHistory(string tradeId, long afterVersion, int take)
    {
        if (engine is null || index.Find(tradeId) is not { } known || engine.AppliedSeq >= known.LastSeq)
        {
            return _journal.ReadTrade(tradeId, afterVersion, take);
        }

        var waiting = new List<TradeEvent>();
        var applied = engine.UnappliedOf(tradeId, waiting);
        if ((waiting.Count > 0 ? waiting[^1].Seq : applied) < known.LastSeq)
        {
            // The index changed an instant before the writer handed the events on: that hand-off is due at once.
            engine.WaitApplied(known.LastSeq);
            return _journal.ReadTrade(tradeId, afterVersion, take);
        }

        waiting.RemoveAll(e => e.Version <= afterVersion);
        List<TradeEvent> history;
        if (waiting.Count > 0 && waiting[0].Version == afterVersion + 1)
        {
            // Every event asked for came after what DuckDB holds (a trade created since, or a page past it): DuckDB is not asked at all.
            history = waiting;
        }
        else
        {
            // Versions rise with seq: what DuckDB holds past `applied` is the top of its answer, and every event of the
            // trade above it is waiting. So the page is DuckDB's events up to `applied`, then the waiting ones, cut to `take`.
            history = _journal.ReadTrade(tradeId, afterVersion, take);
            history.RemoveAll(e => e.Seq > applied);
            history.AddRange(waiting);
        }

        if (history.Count > take)
        {
            history.RemoveRange(take, history.Count - take);
        }

        return history;
    }

    /// <summary>
    /// The non-empty positions of each of <paramref name="accounts"/>, in that order (of every account when
    /// <see langword="null"/>), each account's ordered by symbol, all read at one seq. For tools and tests: the API reads pages.
    /// </summary>
    public IReadOnlyList<Position> GetPositionsAtOneSeq(IReadOnlyList<string>? accounts, out long seq) =>
        index.ReadAtOneSeq(
            read => accounts is null ? read.GetPositions(null) : [.. accounts.SelectMany(read.GetPositions)],
            out seq);

    /// <exception cref="FormatException">The cursor was not issued for this account filter.</exception>
    public PositionPage GetPositions(PositionFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(filter.Limit);
        var after = filter.Cursor is { } cursor ? PositionCursor.Decode(cursor, filter.Account) : (PositionKey?)null;

        // The book walks accounts in ordinal order: a key's accounts are put in that order here, whatever order they came in.
        IReadOnlyList<string>? accounts = filter.Account is { } account ? [account]
            : filter.Accounts is { } some ? [.. some.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)]
            : null;

        // One position more than a page tells whether a next page exists.
        var take = (int)Math.Min(int.MaxValue, filter.Limit + 1L);
        var positions = index.ReadAtOneSeq(read => read.GetPositions(accounts, after, take), out var seq);
        string? next = null;
        if (positions.Count > filter.Limit)
        {
            positions.RemoveAt(positions.Count - 1);
            var last = positions[^1];
            next = PositionCursor.Encode(new PositionKey(last.Account, last.Symbol), filter.Account);
        }

        return new PositionPage(positions, next, seq);
    }

    /// <summary>
    /// <see cref="TradeFilter.From"/> is inclusive, <see cref="TradeFilter.To"/> exclusive (both on executed_at).
    /// </summary>
    /// <exception cref="FormatException">The cursor was not produced by this method.</exception>
    public TradePage ListTrades(TradeFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(filter.Limit);
        var after = filter.Cursor is { } cursor ? ListCursor.Decode(cursor, filter) : ((DateTimeOffset, string)?)null;

        // One trade more than a page tells whether a next page exists.
        var trades = index.List(filter.Account, filter.Symbol, filter.Status, filter.From, filter.To, after, (int)Math.Min(int.MaxValue, filter.Limit + 1L));
        string? next = null;
        if (trades.Count > filter.Limit)
        {
            trades.RemoveAt(trades.Count - 1);
            var last = trades[^1];
            next = ListCursor.Encode(last.ExecutedAt, last.TradeId, filter);
        }

        return new TradePage(trades, next);
    }
}
