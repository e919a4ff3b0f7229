using System.Data.Common;
using TradeStore.Core.Trades;

namespace TradeStore.Storage.Journal;

/// <summary>
/// The column list of <c>trade_events</c> in table order, and the mapping of one row to a
/// <see cref="TradeEvent"/>. One place, so the Appender, readers and exports cannot disagree.
/// </summary>
public static class JournalColumns
{
    /// <summary>Columns of <c>trade_events</c>, in table order (the Appender writes them in this order).</summary>
    public const string List =
        "seq, trade_id, version, event_type, account, symbol, side, quantity, price, filled_quantity, filled_notional, " +
        "last_quantity, last_price, status, venue, trader, executed_at, created_at, recorded_at, idempotency_key";

    /// <summary>Reads the current row of a reader whose columns are <see cref="List"/>.</summary>
    public static TradeEvent Read(DbDataReader reader)
    {
        var recordedAt = Utc(reader.GetDateTime(18));
        var state = new Trade(
            TradeId: reader.GetString(1),
            Account: reader.GetString(4),
            Symbol: reader.GetString(5),
            Side: TradeCodes.ParseSide(reader.GetString(6)),
            Quantity: reader.GetDecimal(7),
            Price: reader.GetDecimal(8),
            FilledQuantity: reader.GetDecimal(9),
            FilledNotional: reader.GetDecimal(10),
            Status: TradeCodes.ParseStatus(reader.GetString(13)),
            Venue: reader.IsDBNull(14) ? null : reader.GetString(14),
            Trader: reader.IsDBNull(15) ? null : reader.GetString(15),
            ExecutedAt: Utc(reader.GetDateTime(16)),
            Version: reader.GetInt64(2),
            LastSeq: reader.GetInt64(0),
            CreatedAt: Utc(reader.GetDateTime(17)),
            UpdatedAt: recordedAt);
        return new TradeEvent(
            Seq: reader.GetInt64(0),
            Type: TradeCodes.ParseEventType(reader.GetString(3)),
            State: state,
            LastQuantity: reader.IsDBNull(11) ? null : reader.GetDecimal(11),
            LastPrice: reader.IsDBNull(12) ? null : reader.GetDecimal(12),
            RecordedAt: recordedAt,
            IdempotencyKey: reader.IsDBNull(19) ? null : reader.GetString(19));
    }

    /// <summary>Appends one journal row in <see cref="List"/> order (the Appender writes columns positionally).</summary>
    public static void Append(DuckDB.NET.Data.DuckDBAppender appender, TradeEvent e)
    {
        var s = e.State;
        var row = appender.CreateRow()
            .AppendValue(e.Seq)
            .AppendValue(s.TradeId)
            .AppendValue(s.Version)
            .AppendValue(e.Type.ToCode())
            .AppendValue(s.Account)
            .AppendValue(s.Symbol)
            .AppendValue(s.Side.ToCode())
            .AppendValue(s.Quantity)
            .AppendValue(s.Price)
            .AppendValue(s.FilledQuantity)
            .AppendValue(s.FilledNotional)
            .AppendValue(e.LastQuantity)
            .AppendValue(e.LastPrice)
            .AppendValue(s.Status.ToCode())
            .AppendValue(s.Venue)
            .AppendValue(s.Trader)
            .AppendValue(s.ExecutedAt.UtcDateTime)
            .AppendValue(s.CreatedAt.UtcDateTime)
            .AppendValue(e.RecordedAt.UtcDateTime)
            .AppendValue(e.IdempotencyKey);
        row.EndRow();
    }

    /// <summary>DuckDB TIMESTAMP values are UTC by TradeStore's convention.</summary>
    public static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
