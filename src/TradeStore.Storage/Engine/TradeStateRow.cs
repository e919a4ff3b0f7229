using System.Data.Common;
using DuckDB.NET.Data;
using TradeStore.Core.Trades;
using TradeStore.Storage.Journal;

namespace TradeStore.Storage.Engine;

/// <summary>
/// The <c>trade_state</c> row (the columns <c>current_trade_state</c> has too), spelled once from the one description of
/// the trade's fields, <see cref="TradeFields"/>: <c>trade_id, version, last_seq</c>, the state fields in
/// <see cref="TradeFields.State"/> order, <c>updated_at</c>. The table's column list, the journal tail as such rows, the
/// flusher's Appender and <c>UPDATE … FROM</c>, and every reader of the row come from here, so adding a state field
/// touches the migration, <see cref="Trade"/> and <see cref="TradeFields"/>, not this assembly. A test compares it with
/// the migrated table.
/// </summary>
public static class TradeStateRow
{
    /// <summary>The identity and bookkeeping columns before the state fields.</summary>
    private static readonly string[] Identity = ["trade_id", "version", "last_seq"];

    private const string UpdatedAtColumn = "updated_at";

    /// <summary>The columns of <c>trade_state</c>, in table order (the Appender writes them in this order).</summary>
    public static IReadOnlyList<string> ColumnNames { get; } = [.. Identity, .. TradeFields.State.Select(f => f.Column), UpdatedAtColumn];

    /// <summary><see cref="ColumnNames"/> as a SQL column list.</summary>
    public static string Columns { get; } = string.Join(", ", ColumnNames);

    /// <summary>How many columns a row has; a query may add its own after them, from this ordinal on.</summary>
    public static int Count => ColumnNames.Count;

    /// <summary>The journal's latest event of each trade with events after <paramref name="afterSeq"/> (a parameter or SQL expression), as rows of <see cref="Columns"/>.</summary>
    public static string TailQuery(string afterSeq) => $"""
        SELECT trade_id, version, seq AS last_seq, {TradeFields.StateColumnList}, recorded_at AS {UpdatedAtColumn}
        FROM trade_events WHERE seq > {afterSeq}
        QUALIFY row_number() OVER (PARTITION BY trade_id ORDER BY seq DESC) = 1
        """;

    /// <summary>
    /// The <c>SET</c> list of an update of a stored row from the row <paramref name="source"/> (an alias): every column
    /// but the key and the <see cref="TradeField.Fixed"/> fields, which never change after the create.
    /// </summary>
    public static string UpdateSet(string source) => string.Join(", ",
        ColumnNames.Skip(1).Where(column => !TradeFields.State.Any(f => f.Fixed && f.Column == column)).Select(column => $"{column} = {source}.{column}"));

    /// <summary>Appends <paramref name="trade"/> as one row in <see cref="Columns"/> order.</summary>
    public static void Append(DuckDBAppender appender, Trade trade)
    {
        var row = appender.CreateRow()
            .AppendValue(trade.TradeId)
            .AppendValue(trade.Version)
            .AppendValue(trade.LastSeq);
        foreach (var field in TradeFields.State)
        {
            row = field.Type switch
            {
                TradeFieldType.Decimal => row.AppendValue(field.DecimalOf(trade)),
                TradeFieldType.Timestamp => row.AppendValue(field.TimestampOf(trade).UtcDateTime),
                _ => row.AppendValue(field.TextOf(trade)),
            };
        }

        row.AppendValue(trade.UpdatedAt.UtcDateTime).EndRow();
    }

    /// <summary>Reads the current row of a reader whose first columns are <see cref="Columns"/>.</summary>
    public static Trade Read(DbDataReader reader) =>
        TradeFields.Create(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), JournalColumns.Utc(reader.GetDateTime(Count - 1)), new RowSource(reader));

    /// <summary>A <c>trade_state</c> row as the source of a trade's state fields.</summary>
    private sealed class RowSource(DbDataReader reader) : ITradeFieldSource
    {
        public string? Text(TradeField field)
        {
            var ordinal = Ordinal(field);
            if (field.Type == TradeFieldType.OptionalText && reader.IsDBNull(ordinal))
            {
                return null;
            }

            return reader.GetString(ordinal);
        }

        public decimal Decimal(TradeField field) => reader.GetDecimal(Ordinal(field));

        public DateTimeOffset Timestamp(TradeField field) => JournalColumns.Utc(reader.GetDateTime(Ordinal(field)));

        /// <summary>
        /// A field's ordinal: its place in <see cref="TradeFields.State"/> after <see cref="Identity"/>. By design a scan of
        /// a dozen references, not a dictionary: it runs a dozen times per row at start-up.
        /// </summary>
        private static int Ordinal(TradeField field)
        {
            var fields = TradeFields.State;
            for (var i = 0; i < fields.Length; i++)
            {
                if (ReferenceEquals(fields[i], field))
                {
                    return Identity.Length + i;
                }
            }

            throw new ArgumentException($"{field.Column} is not a state field of the trade_state row.", nameof(field));
        }
    }
}
