using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using DuckDB.NET.Data;
using TradeStore.Core.Trades;
using TradeStore.Storage.Journal;

namespace TradeStore.Storage.Engine;

/// <summary>
/// The read side: point reads and positions from the in-memory <see cref="StateIndex"/>, history from the
/// journal, lists from DuckDB with keyset pagination on (executed_at, trade_id), so a page boundary never moves
/// when trades are inserted concurrently. Lists are exact although <c>trade_state</c> is flushed behind the journal:
/// with a running engine the states it has not flushed yet are laid over a <c>trade_state</c> query in memory;
/// otherwise the query reads <c>current_trade_state</c> (the table with the journal tail folded over it).
/// </summary>
public sealed class TradeQueries(DuckDbDatabase database, StateIndex index, WriteEngine? engine = null) : ITradeQueries
{
    /// <summary>Above this many unflushed trades a list reads <c>current_trade_state</c> instead of over-fetching.</summary>
    private const int MaxOverlay = 10_000;

    /// <summary>The state columns (of <c>trade_state</c> or <c>current_trade_state</c>) in the order <see cref="ReadState"/> reads them.</summary>
    public const string StateColumns =
        "trade_id, account, symbol, side, quantity, price, filled_quantity, filled_notional, status, " +
        "venue, trader, executed_at, version, last_seq, created_at, updated_at";

    private readonly JournalReader _journal = new(database);

    public Trade? GetTrade(string tradeId) => index.GetLive(tradeId);

    /// <remarks>
    /// Read from DuckDB's journal, which trails the acknowledgements by the apply lag: the read first waits (a few
    /// milliseconds, at most seconds) until DuckDB holds the trade's last acknowledged event, so it stays exact.
    /// </remarks>
    public IReadOnlyList<TradeEvent> GetHistory(string tradeId)
    {
        if (engine is not null && index.Find(tradeId) is { } known)
        {
            engine.WaitApplied(known.LastSeq);
        }

        return _journal.ReadTrade(tradeId);
    }

    public IReadOnlyList<Position> GetPositions(string? account) => index.GetPositions(account);

    /// <summary>
    /// <see cref="TradeFilter.From"/> is inclusive, <see cref="TradeFilter.To"/> exclusive (both on executed_at).
    /// </summary>
    /// <exception cref="FormatException">The cursor was not produced by this method.</exception>
    public TradePage ListTrades(TradeFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(filter.Limit);
        var after = filter.Cursor is { } cursor ? DecodeCursor(cursor) : ((DateTimeOffset, string)?)null;

        List<Trade> trades;
        // By design the overlay, not the view, while the engine runs: folding the journal tail in SQL turned a
        // 3 ms page of 1,000,000 trades into 15-50 ms (docs/benchmarks.md), the in-memory overlay costs microseconds.
        // Account and symbol never change, so only unflushed trades of the filter's account and symbol can hide a table row.
        if (engine?.UnflushedStates(MaxOverlay, t => (filter.Account is null || t.Account == filter.Account) && (filter.Symbol is null || t.Symbol == filter.Symbol)) is { } unflushed)
        {
            // Each of them hides at most one table row, so this many more rows still fill the page.
            var rows = Query("trade_state", filter, after, filter.Limit + 1L + unflushed.Count);
            trades = [.. rows.Where(t => !unflushed.ContainsKey(t.TradeId)).Concat(unflushed.Values.Where(t => Matches(t, filter, after)))];
            trades.Sort(static (a, b) =>
            {
                var byTime = a.ExecutedAt.CompareTo(b.ExecutedAt);
                return byTime != 0 ? byTime : string.CompareOrdinal(a.TradeId, b.TradeId);
            });
            if (trades.Count > filter.Limit + 1)
            {
                trades.RemoveRange(filter.Limit + 1, trades.Count - filter.Limit - 1);
            }
        }
        else
        {
            trades = Query("current_trade_state", filter, after, filter.Limit + 1L);
        }

        string? next = null;
        if (trades.Count > filter.Limit)
        {
            trades.RemoveAt(trades.Count - 1);
            var last = trades[^1];
            next = EncodeCursor(last.ExecutedAt, last.TradeId);
        }

        return new TradePage(trades, next);
    }

    /// <summary>The in-memory twin of the WHERE clause of <see cref="Query"/>.</summary>
    private static bool Matches(Trade t, TradeFilter filter, (DateTimeOffset Time, string Id)? after) =>
        t.Status != TradeStatus.Deleted
        && (filter.Account is null || t.Account == filter.Account)
        && (filter.Symbol is null || t.Symbol == filter.Symbol)
        && (filter.Status is null || t.Status == filter.Status)
        && (filter.From is null || t.ExecutedAt >= Timestamps.Normalize(filter.From.Value))
        && (filter.To is null || t.ExecutedAt < Timestamps.Normalize(filter.To.Value))
        && (after is not { } a || t.ExecutedAt > a.Time || (t.ExecutedAt == a.Time && string.CompareOrdinal(t.TradeId, a.Id) > 0));

    private List<Trade> Query(string relation, TradeFilter filter, (DateTimeOffset Time, string Id)? after, long limit)
    {
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        var sql = new StringBuilder($"SELECT {StateColumns} FROM {relation} WHERE status <> 'deleted'");
        if (filter.Account is { } account)
        {
            sql.Append(" AND account = $account");
            command.Parameters.Add(new DuckDBParameter("account", account));
        }

        if (filter.Symbol is { } symbol)
        {
            sql.Append(" AND symbol = $symbol");
            command.Parameters.Add(new DuckDBParameter("symbol", symbol));
        }

        if (filter.Status is { } status)
        {
            sql.Append(" AND status = $status");
            command.Parameters.Add(new DuckDBParameter("status", status.ToCode()));
        }

        if (filter.From is { } from)
        {
            sql.Append(" AND executed_at >= $from");
            command.Parameters.Add(new DuckDBParameter("from", Timestamps.Normalize(from).UtcDateTime));
        }

        if (filter.To is { } to)
        {
            sql.Append(" AND executed_at < $to");
            command.Parameters.Add(new DuckDBParameter("to", Timestamps.Normalize(to).UtcDateTime));
        }

        if (after is var (afterTime, afterId))
        {
            sql.Append(" AND (executed_at > $after_time OR (executed_at = $after_time AND trade_id > $after_id))");
            command.Parameters.Add(new DuckDBParameter("after_time", afterTime.UtcDateTime));
            command.Parameters.Add(new DuckDBParameter("after_id", afterId));
        }

        // One row more than a page tells whether a next page exists.
        sql.Append(" ORDER BY executed_at, trade_id LIMIT ").Append(limit.ToString(CultureInfo.InvariantCulture));
        command.CommandText = sql.ToString();

        var trades = new List<Trade>((int)Math.Min(limit, 1024));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            trades.Add(ReadState(reader));
        }

        return trades;
    }

    /// <summary>Reads a row whose first columns are <see cref="StateColumns"/>.</summary>
    public static Trade ReadState(System.Data.Common.DbDataReader reader) => new(
        TradeId: reader.GetString(0),
        Account: reader.GetString(1),
        Symbol: reader.GetString(2),
        Side: TradeCodes.ParseSide(reader.GetString(3)),
        Quantity: reader.GetDecimal(4),
        Price: reader.GetDecimal(5),
        FilledQuantity: reader.GetDecimal(6),
        FilledNotional: reader.GetDecimal(7),
        Status: TradeCodes.ParseStatus(reader.GetString(8)),
        Venue: reader.IsDBNull(9) ? null : reader.GetString(9),
        Trader: reader.IsDBNull(10) ? null : reader.GetString(10),
        ExecutedAt: JournalColumns.Utc(reader.GetDateTime(11)),
        Version: reader.GetInt64(12),
        LastSeq: reader.GetInt64(13),
        CreatedAt: JournalColumns.Utc(reader.GetDateTime(14)),
        UpdatedAt: JournalColumns.Utc(reader.GetDateTime(15)));

    /// <summary>Opaque to clients: base64url of the last row's executed_at (microseconds) and trade id.</summary>
    internal static string EncodeCursor(DateTimeOffset executedAt, string tradeId)
    {
        var id = Encoding.UTF8.GetBytes(tradeId);
        var bytes = new byte[8 + id.Length];
        BinaryPrimitives.WriteInt64BigEndian(bytes, Timestamps.ToUnixMicroseconds(executedAt));
        id.CopyTo(bytes, 8);
        return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    internal static (DateTimeOffset ExecutedAt, string TradeId) DecodeCursor(string cursor)
    {
        try
        {
            var base64 = cursor.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            var bytes = Convert.FromBase64String(base64);
            if (bytes.Length is > 8 and <= 8 + TradeValidation.MaxIdLength)
            {
                var tradeId = Encoding.UTF8.GetString(bytes, 8, bytes.Length - 8);
                if (TradeValidation.TradeId(tradeId) is null)
                {
                    return (Timestamps.FromUnixMicroseconds(BinaryPrimitives.ReadInt64BigEndian(bytes)), tradeId);
                }
            }
        }
        catch (FormatException)
        {
            // Reported below with one message for every malformed cursor.
        }
        catch (ArgumentOutOfRangeException)
        {
            // A time outside DateTimeOffset's range: malformed too.
        }

        throw new FormatException("The cursor is malformed; pass the nextCursor of the previous page unchanged.");
    }
}
