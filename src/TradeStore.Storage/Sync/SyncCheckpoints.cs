using System.Globalization;
using DuckDB.NET.Data;

namespace TradeStore.Storage.Sync;

/// <summary>
/// The <c>sync_checkpoints</c> table: for each derived store (sink), the last journal <c>seq</c> it has applied.
/// A sink reads the journal after its checkpoint, so advancing it only after the sink confirmed is what
/// makes delivery complete.
/// </summary>
public sealed class SyncCheckpoints(DuckDbDatabase database)
{
    public const string Redis = "redis";
    public const string ClickHouse = "clickhouse";

    /// <summary>
    /// Not a sink: the last <c>seq</c> whose state the <c>trade_state</c> table holds (it is flushed behind the journal;
    /// <c>current_trade_state</c> is exact). Lives here so every checkpoint is in one table.
    /// </summary>
    public const string TradeState = "trade_state";

    /// <summary>The last applied <c>seq</c> of <paramref name="sink"/>, 0 when it has none yet.</summary>
    public long Get(string sink)
    {
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT last_seq FROM sync_checkpoints WHERE sink = $sink";
        command.Parameters.Add(new DuckDBParameter("sink", sink));
        return command.ExecuteScalar() is { } value and not DBNull ? Convert.ToInt64(value, CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>Records that <paramref name="sink"/> has applied everything up to <paramref name="lastSeq"/>.</summary>
    public void Set(string sink, long lastSeq)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(lastSeq);
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO sync_checkpoints (sink, last_seq, updated_at) VALUES ($sink, $seq, $now)
            ON CONFLICT (sink) DO UPDATE SET last_seq = excluded.last_seq, updated_at = excluded.updated_at
            """;
        command.Parameters.Add(new DuckDBParameter("sink", sink));
        command.Parameters.Add(new DuckDBParameter("seq", lastSeq));
        command.Parameters.Add(new DuckDBParameter("now", DateTime.UtcNow));
        command.ExecuteNonQuery();
    }

    /// <summary>Every checkpoint with the time it was last advanced (UTC).</summary>
    public IReadOnlyList<(string Sink, long LastSeq, DateTimeOffset UpdatedAt)> All()
    {
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT sink, last_seq, updated_at FROM sync_checkpoints ORDER BY sink";
        using var reader = command.ExecuteReader();
        var result = new List<(string, long, DateTimeOffset)>();
        while (reader.Read())
        {
            result.Add((reader.GetString(0), reader.GetInt64(1), Journal.JournalColumns.Utc(reader.GetDateTime(2))));
        }

        return result;
    }
}
