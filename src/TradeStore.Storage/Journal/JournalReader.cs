using TradeStore.Core.Trades;

namespace TradeStore.Storage.Journal;

/// <summary>
/// Reads DuckDB's copy of the journal, <c>trade_events</c>, in <c>seq</c> order: what the offline tools and history
/// reads use. A running server's sinks read through <see cref="PublishedJournal"/>, which adds the events DuckDB does
/// not hold yet.
/// </summary>
public sealed class JournalReader(DuckDbDatabase database) : IJournalSource
{
    /// <summary>Up to <paramref name="limit"/> events with <c>seq &gt; afterSeq</c>, in order.</summary>
    public List<TradeEvent> ReadAfter(long afterSeq, int limit) => ReadRange(afterSeq, long.MaxValue, limit);

    /// <summary>Up to <paramref name="limit"/> events with <c>afterSeq &lt; seq &lt;= throughSeq</c>, in order.</summary>
    public List<TradeEvent> ReadRange(long afterSeq, long throughSeq, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {JournalColumns.List} FROM trade_events WHERE seq > $after AND seq <= $through ORDER BY seq LIMIT $limit";
        command.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("after", afterSeq));
        command.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("through", throughSeq));
        command.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("limit", (long)limit));
        using var reader = command.ExecuteReader();
        var events = new List<TradeEvent>(Math.Min(limit, 1024));
        while (reader.Read())
        {
            if (events.Count == events.Capacity)
            {
                events = Grown(events);
            }

            events.Add(JournalColumns.Read(reader));
        }

        return events;
    }

    /// <summary>
    /// A list of twice the capacity holding <paramref name="events"/>, which is emptied. By design: past ~10,000 events a
    /// list's array is a large object, which only a full GC collects, and an array left behind by List's own growth would
    /// keep its events alive through every young GC (a sink catching up read 50,000 at a time, and the copying paused the
    /// server for 50-200 ms).
    /// </summary>
    internal static List<TradeEvent> Grown(List<TradeEvent> events)
    {
        var grown = new List<TradeEvent>(events.Capacity * 2);
        grown.AddRange(events);
        events.Clear();
        return grown;
    }

    /// <summary>Up to <paramref name="limit"/> events of one trade with <c>version &gt; afterVersion</c>, oldest first.</summary>
    public List<TradeEvent> ReadTrade(string tradeId, long afterVersion = 0, int limit = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {JournalColumns.List} FROM trade_events WHERE trade_id = $id AND version > $after ORDER BY version LIMIT $limit";
        command.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("id", tradeId));
        command.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("after", afterVersion));
        command.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("limit", (long)limit));
        using var reader = command.ExecuteReader();
        var events = new List<TradeEvent>();
        while (reader.Read())
        {
            events.Add(JournalColumns.Read(reader));
        }

        return events;
    }

    /// <summary>The event that took <paramref name="tradeId"/> to <paramref name="version"/>; <see langword="null"/> when there is none.</summary>
    public TradeEvent? ReadEvent(string tradeId, long version)
    {
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {JournalColumns.List} FROM trade_events WHERE trade_id = $id AND version = $version";
        command.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("id", tradeId));
        command.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("version", version));
        using var reader = command.ExecuteReader();
        return reader.Read() ? JournalColumns.Read(reader) : null;
    }

    /// <summary>The highest <c>seq</c> in the journal, 0 when empty.</summary>
    public long LastSeq()
    {
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT coalesce(max(seq), 0) FROM trade_events";
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
