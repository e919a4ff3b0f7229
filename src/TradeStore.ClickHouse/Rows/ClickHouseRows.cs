using System.Globalization;
using System.Text.Json;
using TradeStore.Core.Trades;

namespace TradeStore.ClickHouse.Rows;

/// <summary>
/// The one mapping between TradeStore records and the ClickHouse tables <c>trade_events</c> and <c>trade_state</c>
/// (<c>Migrations/Scripts/0001_initial.up.sql</c>), in <c>JSONEachRow</c>. Decimals are written as JSON numbers
/// from their exact decimal text: ClickHouse 18.16 refuses quoted decimals, and a double would round them.
/// </summary>
public static class ClickHouseRows
{
    /// <summary>Columns of <c>trade_events</c> that TradeStore reads back (everything but the derived <c>recorded_date</c>).</summary>
    public static string EventColumns { get; } =
        "seq, trade_id, version, event_type, " + string.Join(", ", TradeFields.State.Select(ColumnName)) +
        ", last_quantity, last_price, recorded_at_us, idempotency_key";

    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    /// <summary>Writes <paramref name="events"/> as <c>trade_events</c> rows, one JSON object per line.</summary>
    public static void WriteEvents(PooledBufferWriter output, IReadOnlyList<TradeEvent> events)
    {
        using var writer = new Utf8JsonWriter(output, WriterOptions);
        foreach (var e in events)
        {
            var s = e.State;
            writer.WriteStartObject();
            writer.WriteNumber("seq"u8, e.Seq);
            writer.WriteString("trade_id"u8, s.TradeId);
            writer.WriteNumber("version"u8, s.Version);
            writer.WriteString("event_type"u8, e.Type.ToCode());
            WriteStateFields(writer, s);
            WriteDecimal(writer, "last_quantity"u8, e.LastQuantity);
            WriteDecimal(writer, "last_price"u8, e.LastPrice);
            writer.WriteNumber("recorded_at_us"u8, Timestamps.ToUnixMicroseconds(e.RecordedAt));
            // By design written, not left to the column DEFAULT: 18.16's JSONEachRow fills an omitted column with
            // its type's zero (0000-00-00), not with the DEFAULT expression.
            writer.WriteString("recorded_date"u8, e.RecordedAt.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            writer.WriteString("idempotency_key"u8, e.IdempotencyKey);
            writer.WriteEndObject();
            EndRow(writer, output);
        }
    }

    /// <summary>Writes the latest state of each trade in <paramref name="events"/> as <c>trade_state</c> rows; returns how many trades.</summary>
    public static int WriteLatestStates(PooledBufferWriter output, IReadOnlyList<TradeEvent> events)
    {
        // Sized once and emptied after (it is a large object at a full batch): see JournalReader.Grown.
        var latest = new Dictionary<string, Trade>(events.Count, StringComparer.Ordinal);
        foreach (var e in events)
        {
            latest[e.TradeId] = e.State; // the journal is in seq order, so the last one wins
        }

        using var writer = new Utf8JsonWriter(output, WriterOptions);
        foreach (var s in latest.Values)
        {
            writer.WriteStartObject();
            writer.WriteString("trade_id"u8, s.TradeId);
            writer.WriteNumber("version"u8, s.Version);
            writer.WriteNumber("last_seq"u8, s.LastSeq);
            WriteStateFields(writer, s);
            writer.WriteNumber("updated_at_us"u8, Timestamps.ToUnixMicroseconds(s.UpdatedAt));
            writer.WriteEndObject();
            EndRow(writer, output);
        }

        var count = latest.Count;
        latest.Clear();
        return count;
    }

    /// <summary>The columns <c>trade_events</c> and <c>trade_state</c> share (JSONEachRow matches them by name, not order).</summary>
    private static void WriteStateFields(Utf8JsonWriter writer, Trade s)
    {
        var fields = TradeFields.State;
        for (var i = 0; i < fields.Length; i++)
        {
            var field = fields[i];
            var name = StateColumnNames[i];
            switch (field.Type)
            {
                case TradeFieldType.Decimal:
                    writer.WritePropertyName(name);
                    WriteDecimalValue(writer, field.DecimalOf(s));
                    break;
                case TradeFieldType.Timestamp:
                    writer.WriteNumber(name, Timestamps.ToUnixMicroseconds(field.TimestampOf(s)));
                    break;
                default:
                    writer.WriteString(name, field.TextOf(s));
                    break;
            }
        }
    }

    /// <summary>The JSON names of <see cref="TradeFields.State"/>, encoded once (<see cref="ColumnName"/>).</summary>
    private static readonly JsonEncodedText[] StateColumnNames = [.. TradeFields.State.Select(f => JsonEncodedText.Encode(ColumnName(f)))];

    /// <summary>The ClickHouse column of a state field: timestamps are stored as microseconds since the epoch, <c>{column}_us</c>.</summary>
    private static string ColumnName(TradeField field) => field.Type == TradeFieldType.Timestamp ? field.Column + "_us" : field.Column;

    /// <summary>Reads one <c>trade_events</c> row selected with <see cref="EventColumns"/>.</summary>
    public static TradeEvent ReadEvent(JsonElement row)
    {
        var seq = ClickHouseJson.Int64(row, "seq");
        var recordedAt = Timestamps.FromUnixMicroseconds(ClickHouseJson.Int64(row, "recorded_at_us"));
        var state = TradeFields.Create(ClickHouseJson.String(row, "trade_id"), ClickHouseJson.Int64(row, "version"), seq, recordedAt, new RowSource(row));
        return new TradeEvent(
            Seq: seq,
            Type: TradeCodes.ParseEventType(ClickHouseJson.String(row, "event_type")),
            State: state,
            LastQuantity: ClickHouseJson.NullableDecimal(row, "last_quantity"),
            LastPrice: ClickHouseJson.NullableDecimal(row, "last_price"),
            RecordedAt: recordedAt,
            IdempotencyKey: ClickHouseJson.NullableString(row, "idempotency_key"));
    }

    /// <summary>Writes the decimal's own text (never exponent notation) as a raw JSON number.</summary>
    private static void WriteDecimal(Utf8JsonWriter writer, ReadOnlySpan<byte> name, decimal? value)
    {
        writer.WritePropertyName(name);
        WriteDecimalValue(writer, value);
    }

    private static void WriteDecimalValue(Utf8JsonWriter writer, decimal? value)
    {
        if (value is not { } v)
        {
            writer.WriteNullValue();
            return;
        }

        Span<byte> text = stackalloc byte[40];
        // "G" on a decimal is fixed-point with every stored digit (decimal never uses exponent notation in "G").
        if (!v.TryFormat(text, out var length, "G", CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"Cannot format decimal {v}.");
        }

        writer.WriteRawValue(text[..length], skipInputValidation: true);
    }

    /// <summary>Ends a JSONEachRow line. The writer is reset so the next object is a new top-level value, not a list item.</summary>
    private static void EndRow(Utf8JsonWriter writer, PooledBufferWriter output)
    {
        writer.Flush();
        output.Write((byte)'\n');
        writer.Reset(output);
    }

    /// <summary>A ClickHouse <c>JSONEachRow</c> row as the source of a trade's state fields.</summary>
    private sealed class RowSource(JsonElement row) : ITradeFieldSource
    {
        public string? Text(TradeField field) => field.Type == TradeFieldType.OptionalText
            ? ClickHouseJson.NullableString(row, field.Column)
            : ClickHouseJson.String(row, field.Column);

        public decimal Decimal(TradeField field) => ClickHouseJson.Decimal(row, field.Column);

        public DateTimeOffset Timestamp(TradeField field) => Timestamps.FromUnixMicroseconds(ClickHouseJson.Int64(row, ColumnName(field)));
    }
}
