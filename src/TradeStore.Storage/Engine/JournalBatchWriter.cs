using DuckDB.NET.Data;
using TradeStore.Core.Trades;
using TradeStore.Storage.Journal;

namespace TradeStore.Storage.Engine;

/// <summary>
/// Writes one batch in one DuckDB transaction: every event through the Appender into <c>trade_events</c>, the
/// state of trades created in the batch through the Appender into <c>trade_state</c>, and the state of existing
/// trades set-based (Appender into a temporary staging table, then one <c>UPDATE … FROM</c>). By design no
/// statement runs once per trade: that caps DuckDB near 1,000 trades/s (DESIGN.md §2); and plain appends beat
/// <c>INSERT OR REPLACE</c> for new rows (docs/benchmarks.md). Owned by the writer thread; not thread-safe.
/// </summary>
internal sealed class JournalBatchWriter : IDisposable
{
    private const string StagingTable = "trade_state_staging";

    // Account, symbol, side and created_at never change after the create.
    private const string UpdateFromStaging = $"""
        UPDATE trade_state SET version = s.version, last_seq = s.last_seq, quantity = s.quantity, price = s.price,
            filled_quantity = s.filled_quantity, filled_notional = s.filled_notional, status = s.status, venue = s.venue,
            trader = s.trader, executed_at = s.executed_at, updated_at = s.updated_at
        FROM {StagingTable} s WHERE trade_state.trade_id = s.trade_id
        """;

    private readonly DuckDBConnection _connection;

    public JournalBatchWriter(DuckDbDatabase database)
    {
        _connection = database.OpenConnection();
        Execute($"CREATE OR REPLACE TEMP TABLE {StagingTable} AS SELECT * FROM trade_state LIMIT 0");
    }

    /// <summary>
    /// Appends <paramref name="events"/>, inserts <paramref name="created"/> and updates <paramref name="changed"/>
    /// (one final state per trade), then commits; rolls back and rethrows on any failure.
    /// </summary>
    public void Write(IReadOnlyList<TradeEvent> events, IReadOnlyCollection<Trade> created, IReadOnlyCollection<Trade> changed)
    {
        using var transaction = _connection.BeginTransaction();
        try
        {
            using (var appender = _connection.CreateAppender("trade_events"))
            {
                foreach (var e in events)
                {
                    JournalColumns.Append(appender, e);
                }
            }

            if (created.Count > 0)
            {
                using var appender = _connection.CreateAppender("trade_state");
                foreach (var state in created)
                {
                    AppendState(appender, state);
                }
            }

            if (changed.Count > 0)
            {
                using (var appender = _connection.CreateAppender("temp", "main", StagingTable))
                {
                    foreach (var state in changed)
                    {
                        AppendState(appender, state);
                    }
                }

                Execute(UpdateFromStaging, transaction);
                Execute($"DELETE FROM {StagingTable}", transaction);
            }

            transaction.Commit();
        }
        catch
        {
            TryRollback(transaction);
            throw;
        }
    }

    public void Dispose() => _connection.Dispose();

    private static void AppendState(DuckDBAppender appender, Trade s)
    {
        var row = appender.CreateRow()
            .AppendValue(s.TradeId)
            .AppendValue(s.Version)
            .AppendValue(s.LastSeq)
            .AppendValue(s.Account)
            .AppendValue(s.Symbol)
            .AppendValue(s.Side.ToCode())
            .AppendValue(s.Quantity)
            .AppendValue(s.Price)
            .AppendValue(s.FilledQuantity)
            .AppendValue(s.FilledNotional)
            .AppendValue(s.Status.ToCode())
            .AppendValue(s.Venue)
            .AppendValue(s.Trader)
            .AppendValue(s.ExecutedAt.UtcDateTime)
            .AppendValue(s.CreatedAt.UtcDateTime)
            .AppendValue(s.UpdatedAt.UtcDateTime);
        row.EndRow();
    }

    private static void TryRollback(DuckDBTransaction transaction)
    {
        try
        {
            transaction.Rollback();
        }
        catch (DuckDBException)
        {
            // By design ignored: DuckDB may already have aborted the transaction; the original failure is what matters.
        }
        catch (InvalidOperationException)
        {
            // Same: the transaction is already finished.
        }
    }

    private void Execute(string sql, DuckDBTransaction? transaction = null)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
