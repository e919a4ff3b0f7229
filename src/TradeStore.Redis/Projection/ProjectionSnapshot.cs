using System.Globalization;
using TradeStore.Core.Trades;
using TradeStore.Storage;
using TradeStore.Storage.Engine;

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
            command.CommandText = $"SELECT {TradeStateRow.Columns} FROM current_trade_state WHERE status <> 'deleted' ORDER BY trade_id";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                trades.Add(TradeStateRow.Read(reader));
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
