using System.Globalization;
using StackExchange.Redis;
using TradeStore.Core.Diagnostics;
using TradeStore.Storage;
using TradeStore.Storage.Integrity;

namespace TradeStore.Redis.Projection;

/// <summary>
/// The differences between Redis and the journal; empty when the projection is exact. <paramref name="ComparedWith"/> says
/// what Redis was compared with: DuckDB, or DuckDB plus the log records the next start replays (<see cref="JournalLogTail.Describe"/>).
/// </summary>
public sealed record RedisVerifyReport(long JournalLastSeq, long RedisCheckpoint, int TradesChecked, int PositionsChecked, long StreamEntries, IReadOnlyList<string> Differences,
    string ComparedWith = "DuckDB")
{
    public bool IsClean => Differences.Count == 0;
}

/// <summary>
/// Compares every trade hash, every position and the checkpoint in Redis with a DuckDB snapshot, and checks that
/// the change stream holds each <c>seq</c> once, in order, up to the checkpoint. Run it while nothing writes
/// (DuckDB allows one process): a live projector would show as differences that are only lag. The snapshot is
/// streamed from one DuckDB transaction (<see cref="ProjectionSnapshot"/>): the verify holds a chunk of trades, a batch
/// of Redis keys, the positions and the differences, never the book.
/// </summary>
public sealed class RedisVerifier(RedisKeys keys)
{

    /// <summary>
    /// The journal log's records the next start replays into DuckDB (after a crash), or <see langword="null"/>: the
    /// projector is fed from the log's durable events, so Redis may rightly hold them while DuckDB does not yet; Redis is
    /// then compared with the snapshot plus them (<see cref="ProjectionSnapshot.Open"/>), the store as it is once the log is replayed.
    /// </summary>
    public JournalLogTail? LogTail { get; init; }

    /// <summary>Where a long comparison says how far it got (every <see cref="ProgressEvery"/>); <see langword="null"/>: silent.</summary>
    public Action<string>? Progress { get; init; }

    /// <summary>How often <see cref="Progress"/> is told.</summary>
    /// <value>Default 5 s.</value>
    internal TimeSpan ProgressEvery { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Trades read from the snapshot and their hashes read from Redis in one pipeline; what the verify holds of the book at a time.</summary>
    /// <value>Default 500.</value>
    internal int PipelineSize { get; init; } = 500;

    /// <summary>Redis trade keys per question to DuckDB whether they are live (<see cref="StaleTradeKeys"/>): each is one scan of DuckDB's current state.</summary>
    /// <value>Default 50,000.</value>
    internal int KeyBatchSize { get; init; } = 50_000;

    /// <summary>Compares Redis with a snapshot of <paramref name="database"/> (plus <see cref="LogTail"/>), read in one transaction.</summary>
    public async Task<RedisVerifyReport> VerifyAsync(IDatabase redis, DuckDbDatabase database, CancellationToken cancellationToken)
    {
        var logTail = LogTail;
        var source = logTail is { IsEmpty: false } ? "DuckDB and the journal log" : "DuckDB";
        using var snapshot = ProjectionSnapshot.Open(database, logTail, Progress);
        var differences = new List<string>();
        var checkpointValue = await redis.StringGetAsync(keys.Checkpoint);
        var checkpoint = checkpointValue.IsNull ? 0 : long.Parse((string)checkpointValue!, CultureInfo.InvariantCulture);
        if (checkpoint != snapshot.LastSeq)
        {
            differences.Add($"checkpoint: Redis {keys.Checkpoint} is {checkpoint}, the journal ends at seq {snapshot.LastSeq}");
        }

        var progress = new ProgressTicker(Progress, ProgressEvery);
        var compared = 0;
        foreach (var chunk in snapshot.ReadTrades(PipelineSize, cancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            progress.Tick(() => $"compared {compared} of {snapshot.TradeCount} trades");
            compared += chunk.Length;
            var reads = chunk.Select(t => (t, redis.HashGetAllAsync(keys.Trade(t.TradeId)))).ToList();
            foreach (var (trade, read) in reads)
            {
                Compare(differences, source, $"trade {trade.TradeId}", (string)keys.Trade(trade.TradeId)!, RedisFormat.TradeFields(trade), await read);
            }
        }

        // Each stale key once, though SCAN may return one twice: a set of the stale keys only, as many as their differences.
        var reported = new HashSet<RedisKey>();
        await foreach (var stale in StaleTradeKeys.FindAsync(redis, keys, snapshot, KeyBatchSize,
            scanned => progress.Tick(() => $"compared every trade; looking for stale trade keys: {scanned} of about {snapshot.TradeCount} Redis trade keys scanned"),
            cancellationToken))
        {
            foreach (var key in stale.Where(reported.Add))
            {
                differences.Add($"trade {keys.TradeIdOf(key)}: {key} exists in Redis but the trade is deleted or unknown in {source}");
            }
        }

        var accounts = snapshot.Positions.GroupBy(p => p.Account, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        foreach (var (account, positions) in accounts)
        {
            var key = keys.Positions(account);
            Compare(differences, source, $"positions of {account}", (string)key!, [.. positions.SelectMany(PositionFields.Fields)], await redis.HashGetAllAsync(key));
        }

        foreach (var key in await RedisScan.KeysAsync(redis, keys.PositionsPattern, cancellationToken))
        {
            if (!accounts.ContainsKey(keys.AccountOf(key)))
            {
                differences.Add($"positions of {keys.AccountOf(key)}: {key} exists in Redis but the account has no position in {source}");
            }
        }

        var entries = await CheckStreamAsync(redis, checkpoint, differences, progress, cancellationToken);
        return new RedisVerifyReport(snapshot.LastSeq, checkpoint, compared, snapshot.Positions.Count, entries, differences,
            logTail?.Describe() ?? "DuckDB");
    }

    private async Task<long> CheckStreamAsync(IDatabase redis, long checkpoint, List<string> differences, ProgressTicker progress, CancellationToken cancellationToken)
    {
        long count = 0;
        long previous = -1;
        RedisValue from = "-";
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            progress.Tick(() => $"compared every trade and position; checked {count} change stream entries");
            var page = await redis.StreamRangeAsync(keys.Stream, from, "+", 10_000);
            if (page.Length == 0)
            {
                break;
            }

            foreach (var entry in page)
            {
                var seq = RedisFormat.SeqOfStreamId((string)entry.Id!);
                var field = entry["seq"];
                if (field.IsNull || (string)field! != RedisFormat.Long(seq))
                {
                    differences.Add($"stream: entry {entry.Id} carries seq {(field.IsNull ? "(none)" : (string)field!)}");
                }

                if (previous >= 0 && seq != previous + 1)
                {
                    differences.Add($"stream: seq {previous} is followed by {seq} (gap or duplicate)");
                }

                previous = seq;
                count++;
            }

            from = $"({page[^1].Id}";
        }

        if (previous >= 0 && previous != checkpoint)
        {
            differences.Add($"stream: last entry is seq {previous}, the checkpoint is {checkpoint}");
        }
        else if (previous < 0 && checkpoint > 0)
        {
            differences.Add($"stream: {keys.Stream} is empty but the checkpoint is {checkpoint}");
        }

        return count;
    }

    private static void Compare(List<string> differences, string source, string what, string key, IReadOnlyCollection<KeyValuePair<string, string>> expected, HashEntry[] actual)
    {
        if (actual.Length == 0)
        {
            differences.Add($"{what}: {key} is missing in Redis");
            return;
        }

        var have = RedisFormat.ToDictionary(actual);
        foreach (var (name, value) in expected)
        {
            if (!have.Remove(name, out var got))
            {
                differences.Add($"{what}: field {name} is missing in Redis ({source}: {value})");
            }
            else if (got != value)
            {
                differences.Add($"{what}: field {name} is {got} in Redis, {value} in {source}");
            }
        }

        foreach (var (name, value) in have)
        {
            differences.Add($"{what}: field {name} = {value} exists only in Redis");
        }
    }
}
