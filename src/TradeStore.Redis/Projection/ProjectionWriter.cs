using StackExchange.Redis;
using TradeStore.Core.Trades;

namespace TradeStore.Redis.Projection;

/// <summary>What one attempt to apply a batch found.</summary>
internal enum ApplyOutcome
{
    /// <summary>The batch is in Redis; the checkpoint is its last <c>seq</c>.</summary>
    Applied,

    /// <summary>Redis already had the batch (its checkpoint is at or beyond the batch's last <c>seq</c>); nothing written.</summary>
    AlreadyApplied,

    /// <summary>Redis's checkpoint is not the one the batch follows (a rebuild or another writer moved it); nothing written.</summary>
    CheckpointMoved,

    /// <summary>A position changed between reading and writing it; nothing written, read again and retry.</summary>
    PositionsMoved,
}

/// <summary>The outcome and Redis's checkpoint after it.</summary>
internal readonly record struct ApplyResult(ApplyOutcome Outcome, long Checkpoint);

/// <summary>
/// Applies one contiguous run of journal events to Redis as ONE Lua script: trade hashes, positions, change-stream
/// entries and the checkpoint, so a reader never sees half a batch and a re-sent batch is skipped. Positions are
/// computed here in exact decimals from the sums read just before, and the script writes them only if those sums
/// are unchanged (compare-and-set), which keeps a concurrent rebuild safe.
/// </summary>
internal sealed class ProjectionWriter(RedisKeys keys, int streamMaxLength)
{
    /// <summary>Small counts boxed once: a batch sends two per event.</summary>
    private static readonly object[] SmallNumbers = [.. Enumerable.Range(0, 256).Select(n => (object)(long)n)];

    /// <summary>
    /// The position sums this writer last wrote. By design a cache only saves the read round trip: the script
    /// still compares every sum with Redis, and any outcome but <see cref="ApplyOutcome.Applied"/> (or a failure)
    /// empties it. Only the projector's own thread uses a writer.
    /// </summary>
    private readonly Dictionary<(string Account, string Symbol), string[]> _positions = [];

    /// <summary>
    /// The arguments of the scripts in flight, one list each (<c>EVAL</c>, the script, no keys, then about 90 arguments
    /// per event), and the emptied lists of answered ones, reused. By design never an array per batch: at 1,000 events
    /// that is 1.4 MB, a large object, and during a catch-up those arrays (300 MB in 15 s) set off collections of the
    /// whole heap. A list is emptied once Redis answered, so its strings do not live on through young GCs either
    /// (during a catch-up each gen0 GC once copied 15-55 MB and paused the server 50-200 ms).
    /// </summary>
    private readonly Stack<List<object>> _freeArguments = new();

    public RedisKeys Keys => keys;

    /// <summary>Prepares, sends and completes one batch: what a caller without a pipeline uses.</summary>
    /// <param name="events">Contiguous events in <c>seq</c> order.</param>
    /// <param name="expectedCheckpoint">The checkpoint the batch follows: <c>events[0].Seq - 1</c>.</param>
    public async Task<ApplyResult> ApplyAsync(IDatabase database, IReadOnlyList<TradeEvent> events, long expectedCheckpoint)
    {
        var batch = await PrepareAsync(database, events, expectedCheckpoint);
        RedisResult answer;
        try
        {
            answer = await SendAsync(database, batch);
        }
        catch
        {
            Abandon();
            throw;
        }

        return Complete(batch, answer);
    }

    /// <summary>
    /// Computes a batch's positions and builds its script's arguments. <paramref name="inFlight"/> are the batches sent
    /// but not answered yet, oldest first, that this one follows: the sums the newest of them writes stand in for
    /// Redis's, as if they applied (if one did not, the script finds the checkpoint or the sums changed and writes nothing).
    /// </summary>
    /// <param name="events">Contiguous events in <c>seq</c> order.</param>
    /// <param name="expectedCheckpoint">The checkpoint the batch follows: <c>events[0].Seq - 1</c>.</param>
    public async Task<PreparedBatch> PrepareAsync(IDatabase database, IReadOnlyList<TradeEvent> events, long expectedCheckpoint, IReadOnlyList<PreparedBatch>? inFlight = null)
    {
        ArgumentOutOfRangeException.ThrowIfZero(events.Count);
        var deltas = PositionDeltas(events);
        Dictionary<(string Account, string Symbol), string[]> current;
        try
        {
            current = await ReadPositionsAsync(database, deltas.Keys, inFlight ?? []);
        }
        catch
        {
            _positions.Clear();
            throw;
        }

        var written = new Dictionary<(string, string), string[]>(deltas.Count);

        var args = _freeArguments.TryPop(out var free) ? free : new List<object>(1024);
        args.Add(ProjectionScripts.ApplyBatch);
        args.Add(Number(0)); // no KEYS: everything travels in ARGV
        args.Add((string)keys.Checkpoint!);
        args.Add((string)keys.Stream!);
        args.Add(expectedCheckpoint);
        args.Add(events[^1].Seq);
        args.Add(Number(streamMaxLength));
        var trades = LatestStates(events);
        args.Add(Number(trades.Count));
        args.Add(Number(deltas.Count));
        args.Add(Number(events.Count));
        args.Add((string)keys.Generation!);
        args.Add(RedisKeys.NewGeneration());

        var stateFields = new List<KeyValuePair<string, string>>[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            stateFields[i] = RedisFormat.TradeFields(events[i].State);
        }

        foreach (var (state, index) in trades)
        {
            args.Add((string)keys.Trade(state.TradeId)!);
            if (state.Status == TradeStatus.Deleted)
            {
                args.Add(Number(0));
                continue;
            }

            AddPairs(args, stateFields[index]);
        }

        foreach (var ((account, symbol), (buy, sell)) in deltas)
        {
            var old = current[(account, symbol)];
            var before = new Position(account, symbol,
                Parse(old[0]), Parse(old[1]), Parse(old[2]), Parse(old[3]));
            var after = before.Apply(Side.Buy, buy.Quantity, buy.Notional, 1).Apply(Side.Sell, sell.Quantity, sell.Notional, 1);
            args.Add((string)keys.Positions(account)!);
            args.Add(symbol);
            foreach (var value in old)
            {
                args.Add(value);
            }

            args.Add(after.IsEmpty ? "1" : "0");
            var values = PositionFields.Values(after);
            foreach (var value in values)
            {
                args.Add(value);
            }

            written[(account, symbol)] = after.IsEmpty ? ["", "", "", ""] : values[..4];
        }

        for (var i = 0; i < events.Count; i++)
        {
            args.Add(RedisFormat.StreamId(events[i].Seq));
            AddPairs(args, RedisFormat.EventFields(events[i], stateFields[i]));
        }

        return new PreparedBatch(events, expectedCheckpoint, args, written);
    }

    /// <summary>
    /// Sends a prepared batch's script; several may be in flight, and Redis runs them in the order sent. The script's text
    /// (about 2.5 KB) goes with every batch, as <c>EVAL</c> takes it; Redis keeps it compiled under its hash, so a batch
    /// costs Redis one hash of the text more than <c>EVALSHA</c> would, and never a <c>NOSCRIPT</c> round trip.
    /// </summary>
    public Task<RedisResult> SendAsync(IDatabase database, PreparedBatch batch) => database.ExecuteAsync("EVAL", batch.Arguments);

    /// <summary>
    /// What the script found, from its answer; call in the order the batches were sent. A batch that did not apply (or
    /// whose answer is a failure: <see cref="Abandon"/>) empties the cache of position sums.
    /// </summary>
    public ApplyResult Complete(PreparedBatch batch, RedisResult answer)
    {
        var result = (RedisResult[])answer!;
        _freeArguments.Push(batch.Release());
        var code = (long)result[0];
        if (code == 1)
        {
            foreach (var (position, sums) in batch.Written)
            {
                _positions[position] = sums;
            }
        }
        else
        {
            _positions.Clear();
        }

        var checkpoint = (long)result[1];
        return new ApplyResult(code switch
        {
            1 => ApplyOutcome.Applied,
            0 => ApplyOutcome.AlreadyApplied,
            -1 => ApplyOutcome.CheckpointMoved,
            _ => ApplyOutcome.PositionsMoved,
        }, checkpoint);
    }

    /// <summary>
    /// A batch's answer never came (the send failed): whether it ran is unknown, so the cached sums go. Its arguments are
    /// left alone, since a timed-out message may still be sent.
    /// </summary>
    public void Abandon() => _positions.Clear();

    private static decimal Parse(string value) => value.Length == 0 ? 0m : RedisFormat.ParseDecimal(value);

    private static object Number(long value) => value is >= 0 and < 256 ? SmallNumbers[value] : value;

    private static void AddPairs(List<object> args, List<KeyValuePair<string, string>> fields)
    {
        args.Add(Number(fields.Count));
        foreach (var (name, value) in fields)
        {
            args.Add(name);
            args.Add(value);
        }
    }

    /// <summary>The last state of each trade the batch touches (with the index of its event), in order of first appearance.</summary>
    private static List<(Trade State, int Index)> LatestStates(IReadOnlyList<TradeEvent> events)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var states = new List<(Trade, int)>();
        for (var n = 0; n < events.Count; n++)
        {
            var e = events[n];
            if (index.TryGetValue(e.TradeId, out var i))
            {
                states[i] = (e.State, n);
            }
            else
            {
                index[e.TradeId] = states.Count;
                states.Add((e.State, n));
            }
        }

        return states;
    }

    private static Dictionary<(string Account, string Symbol), (SideDelta Buy, SideDelta Sell)> PositionDeltas(IReadOnlyList<TradeEvent> events)
    {
        var deltas = new Dictionary<(string, string), (SideDelta, SideDelta)>();
        foreach (var e in events)
        {
            if (PositionFields.Delta(e) is not { } delta)
            {
                continue;
            }

            var key = (e.State.Account, e.State.Symbol);
            var (buy, sell) = deltas.GetValueOrDefault(key);
            if (e.State.Side == Side.Buy)
            {
                buy = new SideDelta(buy.Quantity + delta.Quantity, buy.Notional + delta.Notional);
            }
            else
            {
                sell = new SideDelta(sell.Quantity + delta.Quantity, sell.Notional + delta.Notional);
            }

            deltas[key] = (buy, sell);
        }

        return deltas;
    }

    private async Task<Dictionary<(string Account, string Symbol), string[]>> ReadPositionsAsync(IDatabase database, IEnumerable<(string Account, string Symbol)> positions,
        IReadOnlyList<PreparedBatch> inFlight)
    {
        var result = new Dictionary<(string, string), string[]>();
        var reads = new List<((string, string), Task<RedisValue[]>)>();
        foreach (var p in positions)
        {
            if (Sent(inFlight, p) is { } sent)
            {
                result[p] = sent;
            }
            else if (_positions.TryGetValue(p, out var cached))
            {
                result[p] = cached;
            }
            else
            {
                reads.Add((p, database.HashGetAsync(keys.Positions(p.Account), [.. PositionFields.Sums.Select(s => (RedisValue)(p.Symbol + s))])));
            }
        }

        foreach (var (position, read) in reads)
        {
            result[position] = [.. (await read).Select(v => v.IsNull ? string.Empty : (string)v!)];
        }

        return result;
    }

    /// <summary>The sums the newest batch in flight that touches <paramref name="position"/> writes, if any does.</summary>
    private static string[]? Sent(IReadOnlyList<PreparedBatch> inFlight, (string Account, string Symbol) position)
    {
        for (var i = inFlight.Count - 1; i >= 0; i--)
        {
            if (inFlight[i].Written.TryGetValue(position, out var sums))
            {
                return sums;
            }
        }

        return null;
    }

    private readonly record struct SideDelta(decimal Quantity, decimal Notional);
}

/// <summary>One batch's script arguments, built by <see cref="ProjectionWriter.PrepareAsync"/>, with what it will write.</summary>
internal sealed class PreparedBatch(IReadOnlyList<TradeEvent> events, long expectedCheckpoint, List<object> arguments,
    Dictionary<(string Account, string Symbol), string[]> written)
{
    public IReadOnlyList<TradeEvent> Events { get; } = events;

    /// <summary>The checkpoint the batch follows.</summary>
    public long ExpectedCheckpoint { get; } = expectedCheckpoint;

    public long LastSeq => Events[^1].Seq;

    /// <summary>The <c>EVAL</c> command's arguments: the script, its number of keys (none), then about 90 per event.</summary>
    public List<object> Arguments { get; } = arguments;

    /// <summary>The position sums the batch writes if it applies.</summary>
    public IReadOnlyDictionary<(string Account, string Symbol), string[]> Written { get; } = written;

    /// <summary>Empties the arguments once Redis answered (never before: a timed-out message may still be sent) and hands the list back for reuse.</summary>
    public List<object> Release()
    {
        Arguments.Clear();
        return Arguments;
    }
}
