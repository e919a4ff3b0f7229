using System.Globalization;
using StackExchange.Redis;
using TradeStore.Core.Diagnostics;
using TradeStore.Core.Trades;
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
/// (DuckDB allows one process): a live projector would show as differences that are only lag.
/// </summary>
public sealed class RedisVerifier(RedisKeys keys)
{
    private const int PipelineSize = 500;

    /// <summary>
    /// The journal log's records the next start replays into DuckDB (after a crash), or <see langword="null"/>: the
    /// projector is fed from the log's durable events, so Redis may rightly hold them while DuckDB does not yet; Redis is
    /// then compared with the snapshot plus them (<see cref="WithLogTail"/>), the store as it is once the log is replayed.
    /// </summary>
    public JournalLogTail? LogTail { get; init; }

    /// <summary>Where a long comparison says how far it got (every <see cref="ProgressEvery"/>); <see langword="null"/>: silent.</summary>
    public Action<string>? Progress { get; init; }

    /// <summary>How often <see cref="Progress"/> is told.</summary>
    /// <value>Default 5 s.</value>
    internal TimeSpan ProgressEvery { get; init; } = TimeSpan.FromSeconds(5);

    public async Task<RedisVerifyReport> VerifyAsync(IDatabase redis, ProjectionSnapshot snapshot, CancellationToken cancellationToken)
    {
        var logTail = LogTail;
        var source = logTail is { IsEmpty: false } ? "DuckDB and the journal log" : "DuckDB";
        snapshot = logTail is null ? snapshot : WithLogTail(snapshot, logTail);
        var differences = new List<string>();
        var checkpointValue = await redis.StringGetAsync(keys.Checkpoint);
        var checkpoint = checkpointValue.IsNull ? 0 : long.Parse((string)checkpointValue!, CultureInfo.InvariantCulture);
        if (checkpoint != snapshot.LastSeq)
        {
            differences.Add($"checkpoint: Redis {keys.Checkpoint} is {checkpoint}, the journal ends at seq {snapshot.LastSeq}");
        }

        var progress = new ProgressTicker(Progress, ProgressEvery);
        var compared = 0;
        foreach (var chunk in snapshot.Trades.Chunk(PipelineSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            progress.Tick(() => $"compared {compared} of {snapshot.Trades.Count} trades");
            compared += chunk.Length;
            var reads = chunk.Select(t => (t, redis.HashGetAllAsync(keys.Trade(t.TradeId)))).ToList();
            foreach (var (trade, read) in reads)
            {
                Compare(differences, source, $"trade {trade.TradeId}", (string)keys.Trade(trade.TradeId)!, RedisFormat.TradeFields(trade), await read);
            }
        }

        var live = snapshot.Trades.Select(t => (string)keys.Trade(t.TradeId)!).ToHashSet(StringComparer.Ordinal);
        foreach (var key in await RedisScan.KeysAsync(redis, keys.TradePattern, cancellationToken))
        {
            if (!live.Contains((string)key!))
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
        return new RedisVerifyReport(snapshot.LastSeq, checkpoint, snapshot.Trades.Count, snapshot.Positions.Count, entries, differences,
            logTail?.Describe() ?? "DuckDB");
    }

    /// <summary>
    /// What the projection must hold once the start has replayed <paramref name="tail"/> into DuckDB: each trade's state
    /// after its last event in the tail (a deleted trade leaves the projection), positions recomputed, the journal at the tail's end.
    /// </summary>
    public static ProjectionSnapshot WithLogTail(ProjectionSnapshot snapshot, JournalLogTail tail)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(tail);
        if (tail.IsEmpty)
        {
            return snapshot;
        }

        var trades = snapshot.Trades.ToDictionary(t => t.TradeId, StringComparer.Ordinal);
        foreach (var (tradeId, latest) in tail.Latest)
        {
            if (latest.State.Status == TradeStatus.Deleted)
            {
                trades.Remove(tradeId);
            }
            else
            {
                trades[tradeId] = latest.State;
            }
        }

        List<Trade> live = [.. trades.Values.OrderBy(t => t.TradeId, StringComparer.Ordinal)];
        return new ProjectionSnapshot(tail.LastSeq, live, ProjectionSnapshot.PositionsOf(live));
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
