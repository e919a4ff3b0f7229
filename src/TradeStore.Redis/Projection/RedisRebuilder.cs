using StackExchange.Redis;
using TradeStore.Core.Diagnostics;
using TradeStore.Storage.Journal;
using TradeStore.Storage;

namespace TradeStore.Redis.Projection;

/// <summary>What a rebuild wrote.</summary>
/// <param name="StreamGapsRepaired">Entries that were missing inside the stream (between its first and last) when it was
/// rewritten whole for them; 0 when it had no gap, or when gaps were not to be repaired.</param>
public sealed record RebuildReport(long Checkpoint, int Trades, int RemovedTradeKeys, int Positions, int StreamEntriesAdded, long StreamGapsRepaired = 0);

/// <summary>What an online rebuild removed; the running projector then replays the journal.</summary>
public sealed record ClearReport(int TradeKeys, int PositionKeys);

/// <summary>
/// Replaces the Redis projection with one computed from DuckDB. Safe while a projector is applying batches
/// (by design "rebuild, then re-apply from the journal" rather than build-and-rename, which would need every key
/// renamed in one step): trades are rewritten from a snapshot at seq S in chunks, stale trade keys removed, missing
/// stream entries appended, and last, in ONE script, all positions are replaced and the checkpoint set to S. Any
/// batch the projector wrote after S is then re-applied on top (trade hashes are whole states, positions are
/// compare-and-set, stream ids are <c>seq</c>), so the projection converges to the journal. The snapshot is streamed
/// from one DuckDB transaction held open throughout (<see cref="ProjectionSnapshot"/>): the rebuild holds a chunk of
/// trades, a batch of Redis keys and the positions, never the book.
/// </summary>
public sealed class RedisRebuilder(DuckDbDatabase database, RedisKeys keys, int streamMaxLength)
{
    private const int DefaultChunkSize = 500;

    // What a rebuild has changed so far (DescribeChanges), read by the thread of a Ctrl-C.
    private int _tradesWritten;
    private long _tradesTotal;
    private volatile bool _streamDeleted;

    /// <summary>Where a long rebuild says how far it got (every <see cref="ProgressEvery"/>); <see langword="null"/>: silent.</summary>
    public Action<string>? Progress { get; init; }

    /// <summary>How often <see cref="Progress"/> is told.</summary>
    /// <value>Default 5 s.</value>
    internal TimeSpan ProgressEvery { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Trades read from the snapshot and written in one script (and journal events appended in one); what the rebuild holds of the book at a time.</summary>
    /// <value>Default 500.</value>
    internal int ChunkSize { get; init; } = DefaultChunkSize;

    /// <summary>Redis trade keys per question to DuckDB whether they are live (<see cref="StaleTradeKeys"/>): each is one scan of DuckDB's current state.</summary>
    /// <value>Default 50,000.</value>
    internal int KeyBatchSize { get; init; } = 50_000;

    /// <param name="repairStreamGaps">
    /// Rewrite the change stream whole when entries are missing inside it (an <c>XDEL</c>, a partial restore): appending
    /// can only add after its last entry. Only while no projector writes to it (the offline <c>redis rebuild</c>): a
    /// projector appending meanwhile would find the stream gone and its later entries would stand before the refill's.
    /// </param>
    public async Task<RebuildReport> RebuildAsync(IDatabase redis, CancellationToken cancellationToken, bool repairStreamGaps = false)
    {
        using var snapshot = ProjectionSnapshot.Open(database, progress: Progress);
        _tradesTotal = snapshot.TradeCount;
        var gaps = repairStreamGaps ? await StreamGapsAsync(redis) : 0;
        cancellationToken.ThrowIfCancellationRequested();
        // Before the first hash changes, and again with the checkpoint: a reader whose snapshot overlaps the rebuild
        // sees the generation change and reads again.
        await redis.StringSetAsync(keys.Generation, RedisKeys.NewGeneration());
        if (gaps > 0)
        {
            _streamDeleted = true;
            await redis.KeyDeleteAsync(keys.Stream);
        }

        var progress = new ProgressTicker(Progress, ProgressEvery);
        var written = 0;
        foreach (var chunk in snapshot.ReadTrades(ChunkSize, cancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            progress.Tick(() => $"wrote {written} of {snapshot.TradeCount} trades");
            written += chunk.Length;
            var args = new List<RedisValue> { chunk.Length };
            foreach (var trade in chunk)
            {
                args.Add((string)keys.Trade(trade.TradeId)!);
                AddPairs(args, RedisFormat.TradeFields(trade));
            }

            await redis.ScriptEvaluateAsync(ProjectionScripts.ReplaceTrades, values: [.. args]);
            Volatile.Write(ref _tradesWritten, written);
        }

        // DEL counts only keys it removed, so a key SCAN returned twice is counted once.
        var removed = 0;
        await foreach (var stale in StaleTradeKeys.FindAsync(redis, keys, snapshot, KeyBatchSize,
            scanned => progress.Tick(() => $"wrote every trade; looking for stale trade keys: {scanned} of about {snapshot.TradeCount} Redis trade keys scanned"),
            cancellationToken))
        {
            removed += (int)await redis.KeyDeleteAsync(stale);
        }

        var added = await RefillStreamAsync(redis, snapshot.LastSeq, progress, cancellationToken);

        var positionArgs = new List<RedisValue> { (string)keys.Checkpoint!, keys.PositionsPattern, snapshot.LastSeq };
        var accounts = snapshot.Positions.GroupBy(p => p.Account, StringComparer.Ordinal).ToList();
        positionArgs.Add(accounts.Count);
        positionArgs.Add((string)keys.Generation!);
        positionArgs.Add(RedisKeys.NewGeneration());
        foreach (var account in accounts)
        {
            positionArgs.Add((string)keys.Positions(account.Key)!);
            AddPairs(positionArgs, [.. account.SelectMany(PositionFields.Fields)]);
        }

        await redis.ScriptEvaluateAsync(ProjectionScripts.ReplacePositions, values: [.. positionArgs]);
        return new RebuildReport(snapshot.LastSeq, written, removed, snapshot.Positions.Count, added, gaps);
    }

    /// <summary>
    /// What a rebuild stopped part way (a Ctrl-C) has changed in Redis so far, for the operator: nothing before the first
    /// trade is written; then trade hashes rewritten with DuckDB's states, while positions and the checkpoint (replaced
    /// last, in one script) are still the old ones. Running the rebuild again finishes it.
    /// </summary>
    public string DescribeChanges()
    {
        var written = Volatile.Read(ref _tradesWritten);
        if (written == 0 && !_streamDeleted)
        {
            return "nothing was changed in Redis.";
        }

        return $"Redis is part rebuilt: {written} of {_tradesTotal} trade hashes rewritten from DuckDB" +
            (_streamDeleted ? ", the change stream deleted to be rewritten whole (it had gaps)" : "") +
            "; positions and the checkpoint are still the old ones. Run tradestore redis rebuild again to finish it.";
    }

    /// <summary>How many entries the stream lacks between its first and its last (ids are seqs, one per event).</summary>
    private async Task<long> StreamGapsAsync(IDatabase redis)
    {
        var first = await redis.StreamRangeAsync(keys.Stream, "-", "+", 1, Order.Ascending);
        var last = await redis.StreamRangeAsync(keys.Stream, "-", "+", 1, Order.Descending);
        if (first.Length == 0 || last.Length == 0)
        {
            return 0;
        }

        var span = RedisFormat.SeqOfStreamId((string)last[0].Id!) - RedisFormat.SeqOfStreamId((string)first[0].Id!) + 1;
        return Math.Max(0, span - await redis.StreamLengthAsync(keys.Stream));
    }

    /// <summary>
    /// Rebuild while a server holds the database (DuckDB allows one process): removes the trade hashes, then in one
    /// script all positions and the checkpoint. The server's projector finds checkpoint 0 (within a second when idle)
    /// and replays the journal from seq 1: trade hashes are whole states, positions start from empty, stream entries
    /// it already holds are skipped. Until the replay ends readers see a partial projection. The generation changes
    /// before the first hash is removed and again with the checkpoint: while the trade hashes go the checkpoint still
    /// reads as before, and only the generation tells a reader that the hashes it read are not all there.
    /// </summary>
    public static async Task<ClearReport> ClearForReplayAsync(IDatabase redis, RedisKeys keys, CancellationToken cancellationToken)
    {
        await redis.StringSetAsync(keys.Generation, RedisKeys.NewGeneration());
        var trades = 0;
        await foreach (var batch in RedisScan.BatchesAsync(redis, keys.TradePattern, DefaultChunkSize, cancellationToken))
        {
            trades += (int)await redis.KeyDeleteAsync(batch);
        }

        var positions = (int)await redis.ScriptEvaluateAsync(ProjectionScripts.ClearPositionsAndCheckpoint, values: [(string)keys.Checkpoint!, keys.PositionsPattern, (string)keys.Generation!, RedisKeys.NewGeneration()]);
        return new ClearReport(trades, positions);
    }

    /// <summary>Appends the journal events up to <paramref name="lastSeq"/> that the stream lacks, at most its MAXLEN.</summary>
    private async Task<int> RefillStreamAsync(IDatabase redis, long lastSeq, ProgressTicker progress, CancellationToken cancellationToken)
    {
        var newest = await redis.StreamRangeAsync(keys.Stream, "-", "+", 1, Order.Descending);
        var streamLast = newest.Length > 0 ? RedisFormat.SeqOfStreamId((string)newest[0].Id!) : 0;
        var after = Math.Max(streamLast, lastSeq - streamMaxLength);
        var journal = new JournalReader(database);
        var added = 0;
        while (after < lastSeq)
        {
            cancellationToken.ThrowIfCancellationRequested();
            progress.Tick(() => $"wrote every trade; change stream filled up to seq {after} of {lastSeq}");
            var events = journal.ReadAfter(after, ChunkSize).Where(e => e.Seq <= lastSeq).ToList();
            if (events.Count == 0)
            {
                break;
            }

            var args = new List<RedisValue> { (string)keys.Stream!, streamMaxLength, events.Count };
            foreach (var e in events)
            {
                args.Add(RedisFormat.StreamId(e.Seq));
                AddPairs(args, RedisFormat.EventFields(e));
            }

            added += (int)await redis.ScriptEvaluateAsync(ProjectionScripts.AppendStream, values: [.. args]);
            after = events[^1].Seq;
        }

        return added;
    }

    private static void AddPairs(List<RedisValue> args, IReadOnlyCollection<KeyValuePair<string, string>> fields)
    {
        args.Add(fields.Count);
        foreach (var (name, value) in fields)
        {
            args.Add(name);
            args.Add(value);
        }
    }
}
