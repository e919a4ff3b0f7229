using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using TradeStore.Core.Trades;

namespace TradeStore.Storage.Engine;

/// <summary>
/// The in-memory current state of every trade, the positions derived from it, the idempotency keys already applied,
/// and the ordered indexes that serve lists: every live trade, per account, per (account, symbol) and per symbol, each
/// ordered by (executedAt, tradeId). Only the WriteEngine's writer mutates it, and only after a commit and before the
/// caller is answered, so a list is exact at acknowledgement. Point reads never lock; positions are read between two
/// commit batches (<see cref="ReadAtOneSeq{T}"/>); a list takes the lock of the one ordered index it walks, for at most
/// a few thousand trades at a time (<see cref="OrderedTrades"/>).
/// Deleted trades stay as tombstones so a reused id is refused and history replays answer correctly; they leave the
/// ordered indexes.
/// </summary>
public sealed class StateIndex
{
    private readonly PositionBook _positions = new();
    private ConcurrentDictionary<string, Trade> _trades = new(StringComparer.Ordinal);

    // By design writer-only: idempotency is decided by the single writer, so a plain dictionary suffices. Keyed by the
    // lookup's digest, not its text (KeyDigest).
    private Dictionary<KeyDigest, IdempotencyRecord> _idempotency = [];

    // The keys in the order they were recorded (seq order), so forgetting the expired ones costs only what it removes.
    private Queue<(long RecordedTicks, KeyDigest Lookup)> _keysByAge = new();
    private int _liveCount;

    // ReadAtOneSeq: odd while the writer applies a batch (a seqlock's stamp); the gate is the writer's for each batch,
    // and a reader's only after OptimisticReads overlapped attempts.
    private const int OptimisticReads = 8;
    private readonly object _batchGate = new();
    private long _batchStamp;
    private long _seq;

    // The ordered indexes of the list endpoint; docs/reads.md gives their memory.
    private OrderedTrades _all = new();
    private ConcurrentDictionary<string, OrderedTrades> _byAccount = new(StringComparer.Ordinal);
    private ConcurrentDictionary<(string Account, string Symbol), OrderedTrades> _byAccountSymbol = new();
    private ConcurrentDictionary<string, OrderedTrades> _bySymbol = new(StringComparer.Ordinal);

    /// <summary>Trades known to the index, deleted ones included.</summary>
    public int Count => _trades.Count;

    /// <summary>Trades that are not deleted.</summary>
    public int LiveCount => Volatile.Read(ref _liveCount);

    /// <summary>Idempotency keys remembered (read by the metrics off the writer's thread: a count, so a stale one is harmless).</summary>
    public int IdempotencyKeyCount => _idempotency.Count;

    /// <summary>Entries the idempotency table has room for (its peak, until <see cref="ForgetIdempotencyKeysBefore"/> trims it).</summary>
    internal int IdempotencyCapacity => _idempotency.EnsureCapacity(0);

    /// <summary>The state of a trade, deleted ones included (the writer needs them to refuse); <see langword="null"/> when unknown.</summary>
    public Trade? Find(string tradeId) => _trades.TryGetValue(tradeId, out var trade) ? trade : null;

    /// <summary>The current state of a live trade; <see langword="null"/> when unknown or deleted.</summary>
    public Trade? GetLive(string tradeId) =>
        _trades.TryGetValue(tradeId, out var trade) && trade.Status != TradeStatus.Deleted ? trade : null;

    /// <summary>Non-empty positions of one account, or of all accounts, ordered by account then symbol.</summary>
    public IReadOnlyList<Position> GetPositions(string? account) => _positions.Get(account);

    /// <summary>Up to <paramref name="take"/> non-empty positions of <paramref name="accounts"/> (ordinal order; every account when <see langword="null"/>) after <paramref name="after"/>, by account then symbol.</summary>
    internal List<Position> GetPositions(IReadOnlyList<string>? accounts, PositionKey? after, int take) => _positions.Page(accounts, after, take);

    /// <summary>
    /// Up to <paramref name="take"/> live trades of <paramref name="account"/> and <paramref name="symbol"/> (each
    /// <see langword="null"/> for any) in (executedAt, tradeId) order: with <paramref name="status"/> when given,
    /// executed at or after <paramref name="from"/> and before <paramref name="to"/>, and strictly after the keyset
    /// position <paramref name="after"/>. The narrowest index walks; the status filter skips while walking.
    /// </summary>
    public List<Trade> List(string? account, string? symbol, TradeStatus? status, DateTimeOffset? from, DateTimeOffset? to,
        (DateTimeOffset ExecutedAt, string TradeId)? after, int take)
    {
        var result = new List<Trade>(Math.Min(take, 1024));
        var scope = (account, symbol) switch
        {
            (null, null) => _all,
            ({ } a, null) => _byAccount.GetValueOrDefault(a),
            (null, { } s) => _bySymbol.GetValueOrDefault(s),
            ({ } a, { } s) => _byAccountSymbol.GetValueOrDefault((a, s)),
        };
        if (scope is null)
        {
            return result;
        }

        // Start at the later of `from` (inclusive) and the cursor (exclusive); stop before `to`. Both bounds round up to
        // whole microseconds, the precision of stored times, so a finer bound neither drops nor adds a trade.
        var startTicks = from is { } f ? Timestamps.CeilingTicks(f) : long.MinValue;
        var startId = string.Empty;
        var inclusive = true;
        if (after is var (afterTime, afterId) && afterTime.UtcTicks >= startTicks)
        {
            (startTicks, startId, inclusive) = (afterTime.UtcTicks, afterId, false);
        }

        var endTicks = to is { } t ? Timestamps.CeilingTicks(t) : long.MaxValue;
        scope.Walk(startTicks, startId, inclusive, endTicks, status, take, result);
        return result;
    }

    /// <param name="key">The digest of a stored key's lookup (<see cref="HeldKey.Lookup"/>).</param>
    /// <param name="record">The event it produced.</param>
    internal bool TryGetIdempotency(KeyDigest key, out IdempotencyRecord record) => _idempotency.TryGetValue(key, out record);

    /// <summary>
    /// Whether any key was ever stored plain (no caller, no fingerprint: written before keys were namespaced, or submitted
    /// to the engine directly); until one is, the writer skips the look-up for a plain key on every new keyed command.
    /// </summary>
    internal bool HasPlainKeys { get; private set; }

    /// <summary>Forgets the idempotency keys recorded before <paramref name="cutoff"/> (writer only); returns how many.</summary>
    internal int ForgetIdempotencyKeysBefore(DateTimeOffset cutoff)
    {
        var forgotten = 0;
        var ticks = cutoff.UtcTicks;
        while (_keysByAge.TryPeek(out var oldest) && oldest.RecordedTicks < ticks)
        {
            _keysByAge.Dequeue();
            if (_idempotency.TryGetValue(oldest.Lookup, out var record) && record.RecordedTicks == oldest.RecordedTicks)
            {
                _idempotency.Remove(oldest.Lookup);
                forgotten++;
            }
        }

        if (forgotten > 0)
        {
            TrimIdempotencyTables();
        }

        return forgotten;
    }

    /// <summary>
    /// Gives back the room a burst of keyed writes left behind: the tables keep their peak size after its keys expire (a
    /// soak measured it), so once three quarters of that room stands empty they are cut to what they hold. It costs one
    /// pass over the keys on the writer's thread, and only after the keys held have fallen to a quarter of the room since the last trim.
    /// </summary>
    private void TrimIdempotencyTables()
    {
        const int SmallestTrimmed = 1024;
        var capacity = _idempotency.EnsureCapacity(0);
        if (capacity > SmallestTrimmed && _idempotency.Count < capacity / 4)
        {
            _idempotency.TrimExcess();
            _keysByAge.TrimExcess();
        }
    }

    /// <summary>
    /// The seq of the last event applied: the index holds every event up to it and none after, between batches (see
    /// <see cref="ReadAtOneSeq{T}"/>). Set once after the start-up load, then moved by <see cref="ApplyBatch"/>.
    /// </summary>
    public long Seq
    {
        get => Volatile.Read(ref _seq);
        internal set => Volatile.Write(ref _seq, value);
    }

    /// <summary>
    /// Runs <paramref name="read"/> on the index as it stood between two commit batches, and gives the seq it stood
    /// at: the value holds every event up to <paramref name="seq"/> and none after. A read of several positions (or
    /// accounts) is otherwise no state at any one seq, since the writer moves them while the reader walks, and the
    /// seq taken before or after it would not say what it holds (a client that follows <c>/v1/changes</c> from that
    /// seq + 1 would miss an event, or count a fill twice). Optimistic, like a seqlock: the writer never waits for a
    /// reader, and a read that a batch overlapped runs again; after <see cref="OptimisticReads"/> such runs (a writer
    /// committing without pause) the read takes the batch gate, so the writer waits for this one read at most.
    /// Keep <paramref name="read"/> short and free of side effects: it may run more than once.
    /// </summary>
    public T ReadAtOneSeq<T>(Func<StateIndex, T> read, out long seq)
    {
        ArgumentNullException.ThrowIfNull(read);
        var spin = default(SpinWait);
        for (var attempt = 0; attempt < OptimisticReads; attempt++)
        {
            var before = Volatile.Read(ref _batchStamp);
            if ((before & 1) == 0)
            {
                var at = Volatile.Read(ref _seq);
                var value = read(this);
                Interlocked.MemoryBarrier();
                if (Volatile.Read(ref _batchStamp) == before)
                {
                    seq = at;
                    return value;
                }
            }

            spin.SpinOnce(sleep1Threshold: -1);
        }

        lock (_batchGate)
        {
            seq = Volatile.Read(ref _seq);
            return read(this);
        }
    }

    /// <summary>
    /// Applies one commit batch (in seq order) as one step for <see cref="ReadAtOneSeq{T}"/>: readers see all of it
    /// or none of it, and <see cref="Seq"/> moves to its last event's seq. Writer only.
    /// </summary>
    /// <param name="events">The batch.</param>
    /// <param name="heldKeys">
    /// The held form of each event's idempotency key, in the same order (<see langword="default"/> for an event without
    /// one), as the writer decided on it; <see langword="null"/> to take them from the events (replicated records).
    /// </param>
    internal void ApplyBatch(IReadOnlyList<TradeEvent> events, IReadOnlyList<HeldKey>? heldKeys = null)
    {
        if (events.Count == 0)
        {
            return;
        }

        lock (_batchGate)
        {
            Interlocked.Increment(ref _batchStamp);
            try
            {
                for (var i = 0; i < events.Count; i++)
                {
                    Apply(events[i], heldKeys?[i]);
                }
            }
            finally
            {
                // Even after a failure: a reader must never wait on a batch that will not end.
                Volatile.Write(ref _seq, events[^1].Seq);
                Interlocked.Increment(ref _batchStamp);
            }
        }
    }

    /// <summary>Applies one committed event: replaces the trade's state and moves its position contribution.</summary>
    private void Apply(TradeEvent committed, HeldKey? heldKey)
    {
        var state = committed.State;
        var previous = Find(state.TradeId);
        var wasLive = previous is not null && previous.Status != TradeStatus.Deleted;
        var isLive = state.Status != TradeStatus.Deleted;

        var previousFilled = wasLive ? previous!.FilledQuantity : 0m;
        var previousNotional = wasLive ? previous!.FilledNotional : 0m;
        var filled = isLive ? state.FilledQuantity : 0m;
        var notional = isLive ? state.FilledNotional : 0m;
        if (previousFilled != filled || previousNotional != notional)
        {
            MovePosition(state, filled - previousFilled, notional - previousNotional);
        }

        _trades[state.TradeId] = state;
        Order(wasLive ? previous : null, isLive ? state : null);
        if (wasLive != isLive)
        {
            Interlocked.Add(ref _liveCount, isLive ? 1 : -1);
        }

        if (committed.IdempotencyKey is { } key)
        {
            var held = heldKey ?? HeldKey.Of(key);
            HasPlainKeys |= held.IsPlain;
            var recorded = committed.RecordedAt.UtcTicks;
            _idempotency[held.Lookup] = new IdempotencyRecord(state.TradeId, state.Version, held.Fingerprint, recorded);
            _keysByAge.Enqueue((recorded, held.Lookup));
        }
    }

    /// <summary>Loads of fewer trades than this start without a word; larger ones say so, then how far they got every <see cref="ProgressEvery"/>.</summary>
    private const long AnnouncedFrom = 1_000_000;

    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Loads the exact current state (<c>current_trade_state</c>: <c>trade_state</c> with the journal tail folded over it)
    /// and the journal's idempotency keys recorded at or after <paramref name="keysSince"/>; called once, before the writer
    /// starts and before any reader. By design the dictionaries are sized from a count first: growing a concurrent
    /// dictionary to a million entries step by step took most of the load time (docs/benchmarks.md).
    /// </summary>
    /// <param name="database">The database to load from.</param>
    /// <param name="keysSince">The oldest idempotency key kept.</param>
    /// <param name="progress">Where a load of 1,000,000 trades or more says that it starts, and how far it got every 5 s.</param>
    internal void Load(DuckDbDatabase database, DateTimeOffset keysSince, ILogger? progress = null) =>
        Load(database, keysSince, progress, AnnouncedFrom, ProgressEvery);

    /// <inheritdoc cref="Load(DuckDbDatabase, DateTimeOffset, ILogger?)"/>
    internal void Load(DuckDbDatabase database, DateTimeOffset keysSince, ILogger? progress, long announcedFrom, TimeSpan progressEvery)
    {
        // By design the GC works without its background thread while the index loads: nothing is served yet, every
        // object allocated survives, and a concurrent collector only competed for the cores (10,000,000 trades: 27.8 and
        // 30.0 s instead of 31.6-33.1 s).
        var latency = GCSettings.LatencyMode;
        GCSettings.LatencyMode = GCLatencyMode.Batch;
        try
        {
            LoadAll(database, keysSince, progress, announcedFrom, progressEvery);
        }
        finally
        {
            GCSettings.LatencyMode = latency;
        }
    }

    private void LoadAll(DuckDbDatabase database, DateTimeOffset keysSince, ILogger? progress, long announcedFrom, TimeSpan progressEvery)
    {
        using var connection = database.OpenConnection();
        var tradeCount = (int)DuckDbScalar.Int64(connection, "SELECT count(*) FROM current_trade_state");
        var keysWhere = KeysSince(keysSince);
        var keyCount = (int)DuckDbScalar.Int64(connection, $"SELECT count(idempotency_key) FROM trade_events WHERE {keysWhere}");
        ConcurrentDictionary<string, Trade>? loading = null;
        using var reporter = progress is not null && tradeCount >= announcedFrom ? new LoadReporter(progress, tradeCount, keyCount, () => loading?.Count ?? 0, progressEvery) : null;
        // By design the idempotency keys are read on a second connection while the trades load: the two reads share
        // nothing until the keys take the loaded trades' id strings (10,000,000 trades: the keys took 20 % of the load).
        var keysRead = Task.Factory.StartNew(() => ReadIdempotencyKeys(database, keysWhere, keyCount), CancellationToken.None, TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        var trades = new ConcurrentDictionary<string, Trade>(Environment.ProcessorCount, Math.Max(31, tradeCount + (tradeCount / 4)), StringComparer.Ordinal);
        Volatile.Write(ref loading, trades);
        // By design the trades are read in parallel parts (by a hash of the id), one connection each: turning DuckDB's
        // values into trades costs ~3 µs a row on one thread, most of a 10,000,000-trade start-up.
        var parts = Math.Clamp(Environment.ProcessorCount, 1, 4);
        var liveParts = new List<Trade>[parts];
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, part => liveParts[part] = ReadTrades(database, part, parts, trades));
        reporter?.AllRead();
        var live = MergeInListOrder(liveParts);

        // By design the positions, the ordered indexes and (once read) the key records are built at once: they share
        // nothing but the loaded trades.
        Dictionary<(string Account, string Symbol), Position> positions = null!;
        Dictionary<KeyDigest, IdempotencyRecord> idempotency = null!;
        List<KeyRow> keys = null!;
        Parallel.Invoke(
            () => idempotency = KeyRecords(keys = keysRead.GetAwaiter().GetResult(), trades),
            () => LoadOrdered(live),
            () => positions = Positions(live));

        _trades = trades;
        _idempotency = idempotency;
        _keysByAge = KeysByAge(keys);
        HasPlainKeys = keys.Exists(k => k.Key.IsPlain);
        _positions.Load(positions.Values);
        Volatile.Write(ref _liveCount, live.Count);
    }

    /// <summary>The positions of the live trades.</summary>
    private static Dictionary<(string Account, string Symbol), Position> Positions(List<Trade> live)
    {
        var positions = new Dictionary<(string Account, string Symbol), Position>();
        foreach (var trade in live)
        {
            if (trade.FilledQuantity != 0)
            {
                ref var position = ref CollectionsMarshal.GetValueRefOrAddDefault(positions, (trade.Account, trade.Symbol), out var exists);
                position = (exists ? position! : Position.Empty(trade.Account, trade.Symbol)).Apply(trade.Side, trade.FilledQuantity, trade.FilledNotional, 1);
            }
        }

        return positions;
    }

    /// <summary>
    /// Says that a long load starts, then (until disposed) every <c>every</c> how many trades it has read (2035) or, once
    /// all are read, that it is ordering them (2040). By design the second phase has its own words: it took a third of a
    /// 1,400,000-trade start in the session-34 soak, and "1406928 of 1406928 trades read" repeated for 13 s read as a
    /// start that hung at its end.
    /// </summary>
    private sealed class LoadReporter : IDisposable
    {
        private readonly ILogger _progress;
        private readonly int _tradeCount;
        private readonly Func<int> _read;
        private readonly long _started = Stopwatch.GetTimestamp();
        private readonly Timer _timer;
        private volatile bool _allRead;

        public LoadReporter(ILogger progress, int tradeCount, int keyCount, Func<int> read, TimeSpan every)
        {
            _progress = progress;
            _tradeCount = tradeCount;
            _read = read;
            Log.IndexLoadStarting(progress, tradeCount, keyCount);
            _timer = new Timer(_ => Report(), null, every, every);
        }

        /// <summary>Every trade is read: says so now, and the following reports name the ordering that remains.</summary>
        public void AllRead()
        {
            _allRead = true;
            Report();
        }

        public void Dispose() => _timer.Dispose();

        private void Report()
        {
            var seconds = (long)Stopwatch.GetElapsedTime(_started).TotalSeconds;
            // The parts sort what they read before the load goes on, so a full count is the ordering phase too.
            if (_allRead || _read() >= _tradeCount)
            {
                Log.IndexLoadOrdering(_progress, _tradeCount, seconds);
            }
            else
            {
                Log.IndexLoadProgress(_progress, _read(), _tradeCount, seconds);
            }
        }
    }

    /// <summary>Reads part <paramref name="part"/> of <paramref name="parts"/> of <c>current_trade_state</c> into <paramref name="trades"/>; returns its live trades.</summary>
    private static List<Trade> ReadTrades(DuckDbDatabase database, int part, int parts, ConcurrentDictionary<string, Trade> trades)
    {
        var live = new List<Trade>();
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = parts == 1
            ? $"SELECT {TradeStateRow.Columns} FROM current_trade_state"
            : $"SELECT {TradeStateRow.Columns} FROM current_trade_state WHERE hash(trade_id) % {parts} = {part}";
        using var reader = command.ExecuteReader();
        // Account, symbol, venue and trader strings are shared (TradeNames): millions of trades use a few thousand of each.
        while (reader.Read())
        {
            var trade = TradeStateRow.Read(reader);
            trades[trade.TradeId] = trade;
            if (trade.Status != TradeStatus.Deleted)
            {
                live.Add(trade);
            }
        }

        // Sorted here, on the part's own thread, so the parts only need merging.
        live.Sort(OrderedTrades.Compare);
        return live;
    }

    /// <summary>One list in list order from parts that each are.</summary>
    private static List<Trade> MergeInListOrder(List<Trade>[] parts)
    {
        if (parts.Length == 1)
        {
            return parts[0];
        }

        var merged = new List<Trade>(parts.Sum(p => p.Count));
        var next = new int[parts.Length];
        while (true)
        {
            var from = -1;
            for (var i = 0; i < parts.Length; i++)
            {
                if (next[i] < parts[i].Count && (from < 0 || OrderedTrades.Compare(parts[i][next[i]], parts[from][next[from]]) < 0))
                {
                    from = i;
                }
            }

            if (from < 0)
            {
                return merged;
            }

            merged.Add(parts[from][next[from]++]);
        }
    }

    /// <summary>The SQL condition of the journal's keys recorded at or after <paramref name="since"/> (<c>recorded_at</c> is UTC).</summary>
    private static string KeysSince(DateTimeOffset since) =>
        "idempotency_key IS NOT NULL AND recorded_at >= TIMESTAMP '" +
        since.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", System.Globalization.CultureInfo.InvariantCulture) + "'";

    /// <summary>
    /// The journal's idempotency keys that match <paramref name="where"/>, oldest first, in their held form (each key is in
    /// the journal once: a retry writes nothing).
    /// </summary>
    private static List<KeyRow> ReadIdempotencyKeys(DuckDbDatabase database, string where, int count)
    {
        var keys = new List<KeyRow>(count);
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT idempotency_key, trade_id, version, recorded_at FROM trade_events WHERE {where} ORDER BY seq";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            keys.Add(new KeyRow(HeldKey.Of(reader.GetString(0)), reader.GetString(1), reader.GetInt64(2), DateTime.SpecifyKind(reader.GetDateTime(3), DateTimeKind.Utc).Ticks));
        }

        return keys;
    }

    /// <summary>The key records, each sharing the trade id string of its loaded trade rather than holding a second copy.</summary>
    private static Dictionary<KeyDigest, IdempotencyRecord> KeyRecords(List<KeyRow> keys, ConcurrentDictionary<string, Trade> trades)
    {
        var records = new Dictionary<KeyDigest, IdempotencyRecord>(keys.Count);
        foreach (var key in keys)
        {
            records[key.Key.Lookup] = new IdempotencyRecord(trades.TryGetValue(key.TradeId, out var trade) ? trade.TradeId : key.TradeId, key.Version,
                key.Key.Fingerprint, key.RecordedTicks);
        }

        return records;
    }

    /// <summary>The age queue of the loaded keys, sized to them (growing it by doubling left up to half its room empty).</summary>
    private static Queue<(long RecordedTicks, KeyDigest Lookup)> KeysByAge(List<KeyRow> keys)
    {
        var queue = new Queue<(long RecordedTicks, KeyDigest Lookup)>(keys.Count);
        foreach (var key in keys)
        {
            queue.Enqueue((key.RecordedTicks, key.Key.Lookup));
        }

        return queue;
    }

    private readonly record struct KeyRow(HeldKey Key, string TradeId, long Version, long RecordedTicks);

    /// <summary>
    /// Builds the ordered indexes from the live trades, given in list order: every index only appends. By design plain
    /// dictionaries while building, copied into concurrent ones once, and the four indexes built in parallel: they
    /// share nothing but the sorted trades.
    /// </summary>
    private void LoadOrdered(List<Trade> live)
    {
        var all = new OrderedTrades();
        Dictionary<string, OrderedTrades> byAccount = null!, bySymbol = null!;
        Dictionary<(string Account, string Symbol), OrderedTrades> byAccountSymbol = null!;
        Parallel.Invoke(
            () =>
            {
                live.ForEach(all.AppendLoading);
                all.TrimLoading();
            },
            () => byAccount = Build(live, static t => t.Account, StringComparer.Ordinal),
            () => byAccountSymbol = Build(live, static t => (t.Account, t.Symbol), EqualityComparer<(string, string)>.Default),
            () => bySymbol = Build(live, static t => t.Symbol, StringComparer.Ordinal));

        _byAccount = new ConcurrentDictionary<string, OrderedTrades>(byAccount, StringComparer.Ordinal);
        _byAccountSymbol = new ConcurrentDictionary<(string Account, string Symbol), OrderedTrades>(byAccountSymbol);
        _bySymbol = new ConcurrentDictionary<string, OrderedTrades>(bySymbol, StringComparer.Ordinal);
        _all = all;
    }

    private static Dictionary<TKey, OrderedTrades> Build<TKey>(List<Trade> sorted, Func<Trade, TKey> key, IEqualityComparer<TKey> comparer)
        where TKey : notnull
    {
        var scopes = new Dictionary<TKey, OrderedTrades>(comparer);
        foreach (var trade in sorted)
        {
            ref var scope = ref CollectionsMarshal.GetValueRefOrAddDefault(scopes, key(trade), out _);
            (scope ??= new OrderedTrades()).AppendLoading(trade);
        }

        foreach (var scope in scopes.Values)
        {
            scope.TrimLoading();
        }

        return scopes;
    }

    /// <summary>
    /// Moves a trade in the four ordered indexes of its scopes: <paramref name="previous"/> is its live state held so
    /// far (<see langword="null"/> when none), <paramref name="current"/> its new live state (<see langword="null"/>
    /// when deleted). Account and symbol never change, so both states belong to the same indexes.
    /// </summary>
    private void Order(Trade? previous, Trade? current)
    {
        var trade = current ?? previous;
        if (trade is null)
        {
            return;
        }

        Order(_all, previous, current);
        Order(_byAccount.GetOrAdd(trade.Account, static _ => new OrderedTrades()), previous, current);
        Order(_byAccountSymbol.GetOrAdd((trade.Account, trade.Symbol), static _ => new OrderedTrades()), previous, current);
        Order(_bySymbol.GetOrAdd(trade.Symbol, static _ => new OrderedTrades()), previous, current);
    }

    private static void Order(OrderedTrades index, Trade? previous, Trade? current)
    {
        if (previous is null)
        {
            index.Add(current!);
        }
        else if (current is null)
        {
            index.Remove(previous);
        }
        else
        {
            index.Replace(previous, current);
        }
    }

    private void MovePosition(Trade trade, decimal quantity, decimal notional) => _positions.Move(trade, quantity, notional);
}

/// <summary>
/// Which event an idempotency key produced, the fingerprint of its request, and when its event was recorded (UTC ticks;
/// it is forgotten after the retention): enough to answer a retry with that event's state, or refuse a reuse.
/// </summary>
internal readonly record struct IdempotencyRecord(string TradeId, long Version, HeldFingerprint Fingerprint, long RecordedTicks);
