using System.Data.Common;
using TradeStore.Core.Trades;

namespace TradeStore.Storage.Journal;

/// <summary>
/// The column list of <c>trade_events</c> in table order, and the mapping of one row to a
/// <see cref="TradeEvent"/>. One place, so the Appender, readers and exports cannot disagree.
/// </summary>
internal static class JournalColumns
{
    /// <summary>Columns of <c>trade_events</c>, in table order (the Appender writes them in this order).</summary>
    public const string List =
        "seq, trade_id, version, event_type, account, symbol, side, quantity, price, filled_quantity, filled_notional, " +
        "last_quantity, last_price, status, venue, trader, executed_at, created_at, recorded_at, idempotency_key";

    /// <summary>Where each column of <see cref="List"/> is in a row (the state fields are read by their <see cref="TradeField.Column"/>).</summary>
    private static readonly Dictionary<string, int> Ordinals =
        List.Split(',', StringSplitOptions.TrimEntries).Select((column, ordinal) => (column, ordinal)).ToDictionary(c => c.column, c => c.ordinal, StringComparer.Ordinal);

    /// <summary>Reads the current row of a reader whose columns are <see cref="List"/>.</summary>
    public static TradeEvent Read(DbDataReader reader)
    {
        var recordedAt = Utc(reader.GetDateTime(18));
        var state = TradeFields.Create(reader.GetString(1), reader.GetInt64(2), reader.GetInt64(0), recordedAt, new ReaderSource(reader));
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

    /// <summary>A journal row as the source of a trade's state fields, by column name.</summary>
    private sealed class ReaderSource(DbDataReader reader) : ITradeFieldSource
    {
        public string? Text(TradeField field)
        {
            var ordinal = Ordinals[field.Column];
            return reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
        }

        public decimal Decimal(TradeField field) => reader.GetDecimal(Ordinals[field.Column]);

        public DateTimeOffset Timestamp(TradeField field) => Utc(reader.GetDateTime(Ordinals[field.Column]));
    }
}
