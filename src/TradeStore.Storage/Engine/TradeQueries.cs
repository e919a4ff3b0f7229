using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using DuckDB.NET.Data;
using TradeStore.Core.Trades;
using TradeStore.Storage.Journal;

namespace TradeStore.Storage.Engine;

/// <summary>
/// The read side: point reads and positions from the in-memory <see cref="StateIndex"/>, history from the
/// journal, lists from <c>current_trade_state</c> (exact: <c>trade_state</c> with the unflushed journal tail over it) in DuckDB with keyset pagination on (executed_at, trade_id), so a page
/// boundary never moves when trades are inserted concurrently.
/// </summary>
public sealed class TradeQueries(DuckDbDatabase database, StateIndex index) : ITradeQueries
{
    private readonly JournalReader _journal = new(database);

    public Trade? GetTrade(string tradeId) => index.GetLive(tradeId);

    public IReadOnlyList<TradeEvent> GetHistory(string tradeId) => _journal.ReadTrade(tradeId);

    public IReadOnlyList<Position> GetPositions(string? account) => index.GetPositions(account);

    /// <summary>
    /// <see cref="TradeFilter.From"/> is inclusive, <see cref="TradeFilter.To"/> exclusive (both on executed_at).
    /// </summary>
    /// <exception cref="FormatException">The cursor was not produced by this method.</exception>
    public TradePage ListTrades(TradeFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(filter.Limit);
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        var sql = new StringBuilder("""
            SELECT trade_id, account, symbol, side, quantity, price, filled_quantity, filled_notional, status,
                   venue, trader, executed_at, version, last_seq, created_at, updated_at
            FROM current_trade_state WHERE status <> 'deleted'
            """);
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

        if (filter.Cursor is { } cursor)
        {
            var (afterTime, afterId) = DecodeCursor(cursor);
            sql.Append(" AND (executed_at > $after_time OR (executed_at = $after_time AND trade_id > $after_id))");
            command.Parameters.Add(new DuckDBParameter("after_time", afterTime.UtcDateTime));
            command.Parameters.Add(new DuckDBParameter("after_id", afterId));
        }

        // One row more than asked tells whether a next page exists.
        sql.Append(" ORDER BY executed_at, trade_id LIMIT ").Append((filter.Limit + 1L).ToString(CultureInfo.InvariantCulture));
        command.CommandText = sql.ToString();

        var trades = new List<Trade>(Math.Min(filter.Limit + 1, 1024));
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                trades.Add(ReadState(reader));
            }
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

    /// <summary>Reads a row whose columns are those of <see cref="ListTrades"/>' SELECT.</summary>
    internal static Trade ReadState(System.Data.Common.DbDataReader reader) => new(
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
