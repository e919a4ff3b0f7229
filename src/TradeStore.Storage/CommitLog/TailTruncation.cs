using System.Globalization;
using DuckDB.NET.Data;
using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;

namespace TradeStore.Storage.CommitLog;

/// <summary>
/// Cutting a journal tail the cluster's leader never had (issue #14: an old leader rejoining as follower). The follower
/// that finds its log diverging records the cut as a small fsynced file, <c>journal/truncate-after</c>, and stops; the
/// next start applies it before anything else reads the database: the events after the seq leave DuckDB's
/// <c>trade_events</c>, the <c>trade_state</c> rows of the trades they touched are re-derived from the events that
/// remain (one transaction), and only then is the log cut (<see cref="JournalLog.TruncateAfter"/>) and the file removed.
/// Doing DuckDB first and keeping the file until the end makes a crash at any point safe: the next start does it again.
/// </summary>
public static class TailTruncation
{
    /// <summary>The file, in the journal log's folder, that asks for a cut: the seq to keep up to, as text.</summary>
    public const string MarkerName = "truncate-after";

    /// <summary>Asks for the log to be cut after <paramref name="seq"/> at the next start (written and synced).</summary>
    public static void Request(JournalLog log, long seq)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentOutOfRangeException.ThrowIfNegative(seq);
        var path = Path.Combine(log.Directory, MarkerName);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, seq.ToString(CultureInfo.InvariantCulture));
        using (var handle = File.OpenHandle(temporary, FileMode.Open, FileAccess.ReadWrite))
        {
            NativeSync.DataSync(handle);
        }

        File.Move(temporary, path, overwrite: true);
        NativeSync.SyncDirectory(log.Directory);
    }

    /// <summary>The seq a pending cut keeps up to, or <see langword="null"/> when none is pending.</summary>
    public static long? Pending(JournalLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        return Pending(log.Directory);
    }

    /// <summary>The seq a pending cut in the journal log folder <paramref name="directory"/> keeps up to, or <see langword="null"/> when none is pending (reads only).</summary>
    public static long? Pending(string directory)
    {
        var path = Path.Combine(directory, MarkerName);
        if (!File.Exists(path))
        {
            return null;
        }

        return long.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            ? seq
            : throw new JournalLogCorruptException(path, 0, "the truncation request does not hold a seq");
    }

    /// <summary>Applies a pending cut to DuckDB and the log; <see langword="null"/> when none is pending.</summary>
    public static TruncationResult? ApplyPending(DuckDbDatabase database, JournalLog log)
    {
        ArgumentNullException.ThrowIfNull(database);
        if (Pending(log) is not { } keep)
        {
            return null;
        }

        var lastBefore = Math.Max(log.LastSeq, LastSeqIn(database));
        var trades = CutDuckDb(database, keep);
        var records = log.TruncateAfter(keep);
        File.Delete(Path.Combine(log.Directory, MarkerName));
        NativeSync.SyncDirectory(log.Directory);
        return new TruncationResult(keep, lastBefore, records, trades);
    }

    private static long LastSeqIn(DuckDbDatabase database)
    {
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT coalesce(max(seq), 0) FROM trade_events";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>Removes the events after <paramref name="keep"/> and re-derives the state of the trades they touched; returns how many trades.</summary>
    private static long CutDuckDb(DuckDbDatabase database, long keep)
    {
        using var connection = database.OpenConnection();
        using var transaction = connection.BeginTransaction();
        try
        {
            const string Affected = "SELECT DISTINCT trade_id FROM trade_events WHERE seq > $keep";
            // Rows shaped as trade_state (TradeStateRow): the latest kept event of each trade the cut touches.
            var latest = $"""
                SELECT trade_id, version, seq AS last_seq, {TradeFields.StateColumnList}, recorded_at AS updated_at
                FROM trade_events
                WHERE seq <= $keep AND trade_id IN ({Affected})
                QUALIFY row_number() OVER (PARTITION BY trade_id ORDER BY version DESC) = 1
                """;
            var trades = Scalar(connection, transaction, $"SELECT count(*) FROM ({Affected})", keep);
            // By design UPDATE, not delete and insert: DuckDB checks a primary key eagerly within one transaction.
            Execute(connection, transaction, $"UPDATE trade_state SET {TradeStateRow.UpdateSet("l")} FROM ({latest}) l WHERE trade_state.trade_id = l.trade_id", keep);
            Execute(connection, transaction, $"""
                INSERT INTO trade_state ({TradeStateRow.Columns})
                SELECT {TradeStateRow.Columns} FROM ({latest}) l WHERE l.trade_id NOT IN (SELECT trade_id FROM trade_state)
                """, keep);
            Execute(connection, transaction, $"""
                DELETE FROM trade_state WHERE trade_id IN ({Affected})
                    AND trade_id NOT IN (SELECT trade_id FROM trade_events WHERE seq <= $keep)
                """, keep);
            Execute(connection, transaction, "DELETE FROM trade_events WHERE seq > $keep", keep);
            Execute(connection, transaction, "UPDATE sync_checkpoints SET last_seq = $keep WHERE sink = 'trade_state' AND last_seq > $keep", keep);
            transaction.Commit();
            return trades;
        }
        catch
        {
            transaction.TryRollback();
            throw;
        }
    }

    private static long Scalar(DuckDBConnection connection, DuckDBTransaction transaction, string sql, long keep)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.Parameters.Add(new DuckDBParameter("keep", keep));
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void Execute(DuckDBConnection connection, DuckDBTransaction transaction, string sql, long keep)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.Parameters.Add(new DuckDBParameter("keep", keep));
        command.ExecuteNonQuery();
    }
}

/// <summary>What <see cref="TailTruncation.ApplyPending"/> cut.</summary>
/// <param name="KeptThroughSeq">The last seq kept.</param>
/// <param name="LastSeqBefore">The last seq the log or DuckDB held before the cut.</param>
/// <param name="Records">Journal log records removed.</param>
/// <param name="Trades">Trades whose state was re-derived (or removed, when created in the cut tail).</param>
public sealed record TruncationResult(long KeptThroughSeq, long LastSeqBefore, long Records, long Trades);
