using System.Runtime.CompilerServices;
using StackExchange.Redis;

namespace TradeStore.Redis.Projection;

/// <summary>
/// The trade hashes in Redis whose trade is not live in a snapshot (deleted, or unknown to DuckDB), found a batch at a
/// time: <c>SCAN</c>'s keys gathered into batches, and the snapshot asked, inside its transaction, which of each batch are
/// live. By design rather than a set of every live trade key built from the snapshot's trades, which was about 100 bytes
/// a trade; each question is one scan of DuckDB's current state, so batches are large.
/// </summary>
internal static class StaleTradeKeys
{
    /// <summary>The stale keys of each batch of <paramref name="batchSize"/> keys scanned (batches without one are skipped).
    /// After <see cref="ProjectionSnapshot.ReadTrades"/>, not during it. A key may come twice (see <see cref="RedisScan.BatchesAsync"/>).</summary>
    /// <param name="scanned">
    /// Told, before each batch is looked up, how many keys were scanned so far, for a progress line: at 3,500,000 trades
    /// the scan took a minute after the last "compared … trades" line, and <c>verify --redis</c> said nothing meanwhile.
    /// </param>
    public static async IAsyncEnumerable<RedisKey[]> FindAsync(IDatabase redis, RedisKeys keys, ProjectionSnapshot snapshot, int batchSize,
        Action<long> scanned, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var count = 0L;
        await foreach (var batch in RedisScan.BatchesAsync(redis, keys.TradePattern, batchSize, cancellationToken))
        {
            scanned(count);
            count += batch.Length;
            var live = snapshot.LiveOf([.. batch.Select(keys.TradeIdOf)]);
            var stale = batch.Where(key => !live.Contains(keys.TradeIdOf(key))).ToArray();
            if (stale.Length > 0)
            {
                yield return stale;
            }
        }
    }
}
