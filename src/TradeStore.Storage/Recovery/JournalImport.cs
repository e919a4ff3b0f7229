using DuckDB.NET.Data;
using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Journal;

namespace TradeStore.Storage.Recovery;

/// <summary>The target of a restore already holds data; nothing was written.</summary>
public sealed class DatabaseNotEmptyException(string path, long events, long trades)
    : Exception($"The database {path} is not empty ({events} journal events, {trades} trades); a restore only writes into a fresh database. " +
                "Point --data at an empty directory.")
{
    public string DatabasePath { get; } = path;
}

/// <summary>The events offered to a restore are not a complete journal (a gap, a repeat, a version out of order); nothing was committed.</summary>
public sealed class JournalImportException(string message) : Exception(message);

/// <summary>
/// Rebuilds the journal and <c>trade_state</c> of an empty database from a source's events (ClickHouse, Redis, …),
/// in one transaction: they must come in <c>seq</c> order from 1 without a gap, and each trade's versions from 1
/// without a gap; otherwise nothing is committed. <c>trade_state</c> is the latest journal row of each trade.
/// </summary>
public sealed class JournalImport : IDisposable
{
    private readonly DuckDBConnection _connection;
    private readonly DuckDBTransaction _transaction;
    private readonly Dictionary<string, long> _versions = new(StringComparer.Ordinal);
    private DuckDBAppender? _appender;
    private bool _completed;

    private JournalImport(DuckDBConnection connection)
    {
        _connection = connection;
        _transaction = connection.BeginTransaction();
        _appender = connection.CreateAppender("trade_events");
    }

    /// <summary>The last <c>seq</c> appended so far (0 before the first).</summary>
    public long LastSeq { get; private set; }

    /// <exception cref="DatabaseNotEmptyException">The database already holds journal events or trades.</exception>
    public static JournalImport BeginIntoEmpty(DuckDbDatabase database)
    {
        var connection = database.OpenConnection();
        try
        {
            var events = DuckDbScalar.Int64(connection, "SELECT count(*) FROM trade_events");
            var trades = DuckDbScalar.Int64(connection, "SELECT count(*) FROM trade_state");
            if (events > 0 || trades > 0)
            {
                throw new DatabaseNotEmptyException(database.Path, events, trades);
            }

            return new JournalImport(connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Appends the next events of the journal.</summary>
    /// <exception cref="JournalImportException">A <c>seq</c> or a version is missing, repeated or out of order.</exception>
    public void Append(IReadOnlyList<TradeEvent> events)
    {
        ObjectDisposedException.ThrowIf(_appender is null, this);
        foreach (var e in events)
        {
            if (e.Seq != LastSeq + 1)
            {
                throw new JournalImportException(e.Seq <= LastSeq
                    ? $"seq {e.Seq} came after seq {LastSeq}: the source repeats or reorders events."
                    : $"seq {LastSeq + 1}..{e.Seq - 1} is missing: the source has a gap after seq {LastSeq}.");
            }

            var previous = _versions.GetValueOrDefault(e.TradeId);
            if (e.Version != previous + 1)
            {
                throw new JournalImportException(
                    $"seq {e.Seq}: trade {e.TradeId} goes from version {previous} to {e.Version}; versions must grow by one.");
            }

            JournalColumns.Append(_appender, e);
            _versions[e.TradeId] = e.Version;
            LastSeq = e.Seq;
        }
    }

    /// <summary>
    /// Derives <c>trade_state</c> from the journal (its checkpoint then says it holds every event), sets
    /// <paramref name="checkpoints"/> (sinks that already hold everything), and commits. Returns the number of trades.
    /// </summary>
    public long Complete(IEnumerable<string> checkpoints)
    {
        ObjectDisposedException.ThrowIf(_appender is null, this);
        _appender.Dispose();
        _appender = null;
        Execute($"""
            INSERT INTO trade_state ({TradeStateRow.Columns})
            SELECT trade_id, version, seq, {TradeFields.StateColumnList}, recorded_at
            FROM trade_events
            QUALIFY row_number() OVER (PARTITION BY trade_id ORDER BY version DESC) = 1
            """);
        foreach (var sink in checkpoints)
        {
            using var command = _connection.CreateCommand();
            command.Transaction = _transaction;
            command.CommandText = "INSERT INTO sync_checkpoints (sink, last_seq, updated_at) VALUES ($sink, $seq, $now)";
            command.Parameters.Add(new DuckDBParameter("sink", sink));
            command.Parameters.Add(new DuckDBParameter("seq", LastSeq));
            command.Parameters.Add(new DuckDBParameter("now", DateTime.UtcNow));
            command.ExecuteNonQuery();
        }

        Engine.TradeStateCheckpoint.Write(_connection, _transaction, LastSeq);
        _transaction.Commit();
        _completed = true;
        return _versions.Count;
    }

    public void Dispose()
    {
        _appender?.Dispose();
        if (!_completed)
        {
            try
            {
                _transaction.Rollback();
            }
            catch (DuckDBException)
            {
                // By design ignored: the transaction may already be aborted; nothing of it was committed either way.
            }
            catch (InvalidOperationException)
            {
                // Same: already finished.
            }
        }

        _transaction.Dispose();
        _connection.Dispose();
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = _transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
