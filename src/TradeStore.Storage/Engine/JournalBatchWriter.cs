using DuckDB.NET.Data;
using TradeStore.Core.Trades;
using TradeStore.Storage.Journal;

namespace TradeStore.Storage.Engine;

/// <summary>
/// Writes one batch in one DuckDB transaction: every event through the Appender into <c>trade_events</c>, then
/// commits. By design the transaction holds only the journal: each table appended to costs about 1 ms per
/// transaction, however few rows, so <c>trade_state</c> is written later, for many batches at once, by the
/// <see cref="TradeStateFlusher"/> (docs/benchmarks.md). Owned by the writer thread; not thread-safe.
/// </summary>
internal sealed class JournalBatchWriter : IDisposable
{
    private readonly DuckDBConnection _connection;

    public JournalBatchWriter(DuckDbDatabase database)
    {
        _connection = database.OpenConnection();
    }

    /// <summary>Appends <paramref name="events"/> and commits; rolls back and rethrows on any failure.</summary>
    public void Write(IReadOnlyList<TradeEvent> events)
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

            transaction.Commit();
        }
        catch
        {
            transaction.TryRollback();
            throw;
        }
    }

    public void Dispose() => _connection.Dispose();
}
