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
    /// <summary>From this many trades the read says that it starts (then every 5 s how far it got): 1,929,000 trades took ~18 s without a line.</summary>
    private const long AnnouncedFrom = 100_000;

    /// <summary>Rows read between two looks at <c>cancellationToken</c> and the progress clock.</summary>
    private const int CheckEvery = 10_000;

    /// <param name="progress">Where a long read says how far it got; <see langword="null"/>: silent.</param>
    /// <param name="cancellationToken">Looked at every 10,000 trades (a Ctrl-C of <c>verify --redis</c> or <c>redis rebuild</c>).</param>
    public static ProjectionSnapshot Read(DuckDbDatabase database, Action<string>? progress = null, CancellationToken cancellationToken = default)
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

        long count;
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT count(*) FROM current_trade_state WHERE status <> 'deleted'";
            count = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        if (count >= AnnouncedFrom)
        {
            progress?.Invoke($"reading the current state of {count} live trades from DuckDB (at seq {lastSeq})");
        }

        var ticker = new Core.Diagnostics.ProgressTicker(progress, TimeSpan.FromSeconds(5));
        var trades = new List<Trade>((int)Math.Min(count, int.MaxValue));
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = $"SELECT {TradeStateRow.Columns} FROM current_trade_state WHERE status <> 'deleted' ORDER BY trade_id";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                trades.Add(TradeStateRow.Read(reader));
                if (trades.Count % CheckEvery == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    ticker.Tick(() => $"read {trades.Count} of {count} trades from DuckDB");
                }
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
