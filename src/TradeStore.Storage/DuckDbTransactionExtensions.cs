using DuckDB.NET.Data;

namespace TradeStore.Storage;

/// <summary>The one way TradeStore abandons a DuckDB transaction after a failure.</summary>
internal static class DuckDbTransactionExtensions
{
    /// <summary>Rolls back, ignoring a transaction DuckDB already aborted or finished: the original failure is what matters.</summary>
    public static void TryRollback(this DuckDBTransaction transaction)
    {
        try
        {
            transaction.Rollback();
        }
        catch (DuckDBException)
        {
            // By design ignored: DuckDB may already have aborted the transaction.
        }
        catch (InvalidOperationException)
        {
            // Same: the transaction is already finished.
        }
    }
}
