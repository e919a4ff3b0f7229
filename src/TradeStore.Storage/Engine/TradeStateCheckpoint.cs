using System.Globalization;
using DuckDB.NET.Data;
using TradeStore.Storage.Sync;

namespace TradeStore.Storage.Engine;

/// <summary>
/// The <c>'trade_state'</c> row of <c>sync_checkpoints</c>: the last journal <c>seq</c> whose state <c>trade_state</c>
/// holds. Events after it (the tail) are folded over the table by <c>current_trade_state</c> and by the readers here.
/// Not a sink: nothing outside DuckDB is behind it.
/// </summary>
internal static class TradeStateCheckpoint
{
    public static long Read(DuckDBConnection connection, DuckDBTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT coalesce(max(last_seq), 0) FROM sync_checkpoints WHERE sink = $sink";
        command.Parameters.Add(new DuckDBParameter("sink", SyncCheckpoints.TradeState));
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public static void Write(DuckDBConnection connection, DuckDBTransaction? transaction, long seq)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE sync_checkpoints SET last_seq = $seq, updated_at = $now WHERE sink = $sink";
        command.Parameters.Add(new DuckDBParameter("sink", SyncCheckpoints.TradeState));
        command.Parameters.Add(new DuckDBParameter("seq", seq));
        command.Parameters.Add(new DuckDBParameter("now", DateTime.UtcNow));
        if (command.ExecuteNonQuery() == 0)
        {
            command.CommandText = "INSERT INTO sync_checkpoints (sink, last_seq, updated_at) VALUES ($sink, $seq, $now)";
            command.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// Writes the journal tail into <c>trade_state</c> and moves the checkpoint to the journal's last <c>seq</c>, inside
    /// <paramref name="transaction"/>: for writers that change the journal outside the engine (recovery, import).
    /// </summary>
    public static void FoldTail(DuckDBConnection connection, DuckDBTransaction transaction)
    {
        var checkpoint = Read(connection, transaction);
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = $"INSERT OR REPLACE INTO trade_state ({TradeStateRow.Columns}) SELECT {TradeStateRow.Columns} FROM ({TradeStateRow.TailQuery("$checkpoint")})";
            command.Parameters.Add(new DuckDBParameter("checkpoint", checkpoint));
            command.ExecuteNonQuery();
        }

        long last;
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT coalesce(max(seq), 0) FROM trade_events";
            last = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        Write(connection, transaction, Math.Max(last, checkpoint));
    }
}
