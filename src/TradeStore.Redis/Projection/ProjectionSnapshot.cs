using System.Data.Common;
using System.Globalization;
using DuckDB.NET.Data;
using TradeStore.Core.Trades;
using TradeStore.Storage;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Integrity;

namespace TradeStore.Redis.Projection;

/// <summary>
/// What the Redis projection must hold at one journal position, read from DuckDB in ONE transaction (one consistent
/// snapshot, <see cref="LastSeq"/>) that stays open until it is disposed: the live trades chunk by chunk
/// (<see cref="ReadTrades"/>), the positions summed from them as they pass, and which of some trade ids are live
/// (<see cref="LiveOf"/>). Rebuild writes it; verify compares Redis against it. By design streamed, and unsorted: the
/// caller holds one chunk of trades and the positions (accounts × symbols), not the book; reading the book whole into a
/// list took about 2 GB for 2,000,000 trades. With a journal log tail it is the store as it is once the next start has
/// replayed that tail.
/// </summary>
public sealed class ProjectionSnapshot : IDisposable
{
    /// <summary>From this many trades the snapshot says that it starts reading (1,929,000 trades were once read ~18 s without a line).</summary>
    private const long AnnouncedFrom = 100_000;

    private const string LiveTrades = "FROM current_trade_state WHERE status <> 'deleted'";

    private readonly DuckDBConnection _connection;
    private readonly DbTransaction _transaction;

    /// <summary>The tail's latest event of each trade it touches, by trade id: it overrides DuckDB's state of that trade.</summary>
    private readonly IReadOnlyDictionary<string, TradeEvent> _tail;

    private readonly PositionTally _tally = new();
    private List<Position>? _positions;
    private bool _reading;

    private ProjectionSnapshot(DuckDBConnection connection, DbTransaction transaction, JournalLogTail? tail)
    {
        _connection = connection;
        _transaction = transaction;
        _tail = tail is { IsEmpty: false } ? tail.Latest : new Dictionary<string, TradeEvent>();
        DuckDbSeq = Convert.ToInt64(Scalar("SELECT coalesce(max(seq), 0) FROM trade_events"), CultureInfo.InvariantCulture);
        LastSeq = _tail.Count > 0 ? tail!.LastSeq : DuckDbSeq;
        DuckDbTrades = Convert.ToInt64(Scalar($"SELECT count(*) {LiveTrades}"), CultureInfo.InvariantCulture);
        var liveInDuckDb = LiveInDuckDb([.. _tail.Keys]);
        TradeCount = DuckDbTrades + _tail.Values.Sum(e => (IsLive(e) ? 1 : 0) - (liveInDuckDb.Contains(e.TradeId) ? 1 : 0));
    }

    /// <summary>Where the journal ends: DuckDB's last seq, or the tail's when the snapshot has one.</summary>
    public long LastSeq { get; }

    /// <summary>How many live trades <see cref="ReadTrades"/> yields (the tail's included).</summary>
    public long TradeCount { get; }

    /// <summary>The non-empty positions of the live trades, by account, then symbol; known once <see cref="ReadTrades"/> has yielded every trade.</summary>
    /// <exception cref="InvalidOperationException">The trades have not all been read yet.</exception>
    public IReadOnlyList<Position> Positions => _positions ?? throw new InvalidOperationException("The positions are summed while the trades are read: read them all first.");

    /// <summary>DuckDB's last seq, the tail aside.</summary>
    private long DuckDbSeq { get; }

    /// <summary>How many live trades DuckDB holds, the tail aside.</summary>
    private long DuckDbTrades { get; }

    /// <summary>
    /// Opens the snapshot: begins the transaction and reads where the journal ends and how many trades are live.
    /// </summary>
    /// <param name="tail">The journal log's records the next start replays into DuckDB, folded over it (verify after a crash); <see langword="null"/>: DuckDB alone.</param>
    /// <param name="progress">Where a large book's read is announced; <see langword="null"/>: silent.</param>
    public static ProjectionSnapshot Open(DuckDbDatabase database, JournalLogTail? tail = null, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        var connection = database.OpenConnection();
        DbTransaction? transaction = null;
        try
        {
            transaction = connection.BeginTransaction();
            var snapshot = new ProjectionSnapshot(connection, transaction, tail);
            if (snapshot.DuckDbTrades >= AnnouncedFrom)
            {
                progress?.Invoke($"reading the current state of {snapshot.DuckDbTrades} live trades from DuckDB (at seq {snapshot.DuckDbSeq})");
            }

            return snapshot;
        }
        catch
        {
            transaction?.Dispose();
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The live trades, <paramref name="chunkSize"/> at a time: streamed from DuckDB in its table order, those the tail
    /// touches left to the end in their tail state; their positions are summed as they pass (<see cref="Positions"/>).
    /// Once per snapshot.
    /// </summary>
    /// <param name="cancellationToken">Looked at before each chunk (a Ctrl-C of <c>verify --redis</c> or <c>redis rebuild</c>).</param>
    public IEnumerable<Trade[]> ReadTrades(int chunkSize, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        if (_reading)
        {
            throw new InvalidOperationException("A snapshot's trades are read once.");
        }

        _reading = true;
        return Chunked(chunkSize, cancellationToken);
    }

    /// <summary>Which of <paramref name="tradeIds"/> are live in the snapshot (the tail's word first). Not while <see cref="ReadTrades"/> is being enumerated: DuckDB runs one query of a connection at a time.</summary>
    public IReadOnlySet<string> LiveOf(IReadOnlyCollection<string> tradeIds)
    {
        ArgumentNullException.ThrowIfNull(tradeIds);
        var live = LiveInDuckDb([.. tradeIds.Where(id => !_tail.ContainsKey(id))]);
        foreach (var id in tradeIds)
        {
            if (_tail.TryGetValue(id, out var latest) && IsLive(latest))
            {
                live.Add(id);
            }
        }

        return live;
    }

    /// <summary>Ends the transaction (it changed nothing) and closes the connection.</summary>
    public void Dispose()
    {
        _transaction.Dispose();
        _connection.Dispose();
    }

    private static bool IsLive(TradeEvent latest) => latest.State.Status != TradeStatus.Deleted;

    private IEnumerable<Trade[]> Chunked(int chunkSize, CancellationToken cancellationToken)
    {
        var chunk = new List<Trade>(chunkSize);
        foreach (var trade in Merged())
        {
            if (chunk.Count == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            _tally.Add(trade);
            chunk.Add(trade);
            if (chunk.Count == chunkSize)
            {
                yield return [.. chunk];
                chunk.Clear();
            }
        }

        if (chunk.Count > 0)
        {
            yield return [.. chunk];
        }

        _positions = _tally.ToList();
    }

    /// <summary>DuckDB's live trades but those the tail touches, then the tail's live states, by trade id (ordinal).</summary>
    private IEnumerable<Trade> Merged()
    {
        foreach (var trade in StreamDuckDb())
        {
            if (!_tail.ContainsKey(trade.TradeId))
            {
                yield return trade;
            }
        }

        foreach (var latest in _tail.Values.Where(IsLive).OrderBy(e => e.TradeId, StringComparer.Ordinal))
        {
            yield return latest.State;
        }
    }

    /// <summary>
    /// DuckDB's live trades, handed over as DuckDB scans them (streaming mode, in its table order): by design unsorted,
    /// since an <c>ORDER BY trade_id</c> makes DuckDB hold the whole book to sort it (100 MB more for 500,000 trades).
    /// </summary>
    private IEnumerable<Trade> StreamDuckDb()
    {
        using var command = _connection.CreateCommand();
        command.Transaction = _transaction;
        command.CommandText = $"SELECT {TradeStateRow.Columns} {LiveTrades}";
        command.UseStreamingMode = true;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return TradeStateRow.Read(reader);
        }
    }

    /// <summary>Which of <paramref name="tradeIds"/> DuckDB holds live, in one query: one scan of the current state per call, so callers ask in large batches.</summary>
    private HashSet<string> LiveInDuckDb(List<string> tradeIds)
    {
        var live = new HashSet<string>(StringComparer.Ordinal);
        if (tradeIds.Count == 0)
        {
            return live;
        }

        using var command = _connection.CreateCommand();
        command.Transaction = _transaction;
        command.CommandText = $"SELECT trade_id {LiveTrades} AND trade_id IN (SELECT unnest($ids))";
        command.Parameters.Add(new DuckDBParameter("ids", tradeIds));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            live.Add(reader.GetString(0));
        }

        return live;
    }

    private object? Scalar(string sql)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = _transaction;
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
