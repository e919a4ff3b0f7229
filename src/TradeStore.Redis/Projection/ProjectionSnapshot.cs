using System.Globalization;
using TradeStore.Core.Trades;
using TradeStore.Storage;
using TradeStore.Storage.Journal;

namespace TradeStore.Redis.Projection;

/// <summary>
/// What the Redis projection must hold at one journal position, read from DuckDB in one transaction (one
/// consistent snapshot): every live trade, every non-empty position recomputed from them, and the last <c>seq</c>.
/// Rebuild writes it; verify compares Redis against it.
/// </summary>
public sealed record ProjectionSnapshot(long LastSeq, IReadOnlyList<Trade> Trades, IReadOnlyList<Position> Positions)
{
    public static ProjectionSnapshot Read(DuckDbDatabase database)
    {
        using var connection = database.OpenConnection();
        using var transaction = connection.BeginTransaction();
        long lastSeq;
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT coalesce(max(seq), 0) FROM trade_events";
            lastSeq = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        var trades = new List<Trade>();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = """
                SELECT trade_id, version, last_seq, account, symbol, side, quantity, price, filled_quantity, filled_notional,
                       status, venue, trader, executed_at, created_at, updated_at
                FROM current_trade_state WHERE status <> 'deleted' ORDER BY trade_id
                """;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                trades.Add(new Trade(
                    TradeId: reader.GetString(0),
                    Account: reader.GetString(3),
                    Symbol: reader.GetString(4),
                    Side: TradeCodes.ParseSide(reader.GetString(5)),
                    Quantity: reader.GetDecimal(6),
                    Price: reader.GetDecimal(7),
                    FilledQuantity: reader.GetDecimal(8),
                    FilledNotional: reader.GetDecimal(9),
                    Status: TradeCodes.ParseStatus(reader.GetString(10)),
                    Venue: reader.IsDBNull(11) ? null : reader.GetString(11),
                    Trader: reader.IsDBNull(12) ? null : reader.GetString(12),
                    ExecutedAt: JournalColumns.Utc(reader.GetDateTime(13)),
                    Version: reader.GetInt64(1),
                    LastSeq: reader.GetInt64(2),
                    CreatedAt: JournalColumns.Utc(reader.GetDateTime(14)),
                    UpdatedAt: JournalColumns.Utc(reader.GetDateTime(15))));
            }
        }

        transaction.Commit();
        return new ProjectionSnapshot(lastSeq, trades, PositionsOf(trades));
    }

    /// <summary>Positions of live trades: the sums of their fills per account, symbol and side.</summary>
    public static List<Position> PositionsOf(IEnumerable<Trade> trades)
    {
        var positions = new Dictionary<(string, string), Position>();
        foreach (var t in trades.Where(t => t.Status != TradeStatus.Deleted && t.FilledQuantity != 0))
        {
            var key = (t.Account, t.Symbol);
            var position = positions.GetValueOrDefault(key) ?? Position.Empty(t.Account, t.Symbol);
            positions[key] = position.Apply(t.Side, t.FilledQuantity, t.FilledNotional, 1);
        }

        return [.. positions.Values.Where(p => !p.IsEmpty).OrderBy(p => p.Account, StringComparer.Ordinal).ThenBy(p => p.Symbol, StringComparer.Ordinal)];
    }
}
