using System.Runtime.CompilerServices;
using StackExchange.Redis;

namespace TradeStore.Redis.Projection;

/// <summary>Keys matching a pattern, page by page with <c>SCAN</c> (never <c>KEYS</c>, which blocks a shared Redis).</summary>
internal static class RedisScan
{
    /// <summary>Every matching key, once: for key sets that are small (positions, one per account).</summary>
    public static async Task<List<RedisKey>> KeysAsync(IDatabase database, string pattern, CancellationToken cancellationToken)
    {
        var keys = new List<RedisKey>();
        await foreach (var batch in BatchesAsync(database, pattern, 10_000, cancellationToken))
        {
            keys.AddRange(batch);
        }

        return [.. keys.Distinct()];
    }

    /// <summary>
    /// The matching keys in batches of at most <paramref name="batchSize"/>, gathered from <c>SCAN</c>'s pages: the caller
    /// holds one batch, not every key (trade keys, one per live trade). A key <c>SCAN</c> returns twice (the keyspace was
    /// rehashed meanwhile) comes twice; keys may be deleted between batches.
    /// </summary>
    public static async IAsyncEnumerable<RedisKey[]> BatchesAsync(IDatabase database, string pattern, int batchSize,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var batch = new List<RedisKey>(Math.Min(batchSize, 10_000));
        var cursor = "0";
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = (RedisResult[])(await database.ExecuteAsync("SCAN", cursor, "MATCH", pattern, "COUNT", 1000))!;
            cursor = (string)page[0]!;
            foreach (var key in (RedisResult[])page[1]!)
            {
                batch.Add((string)key!);
                if (batch.Count == batchSize)
                {
                    yield return [.. batch];
                    batch.Clear();
                }
            }
        }
        while (cursor != "0");

        if (batch.Count > 0)
        {
            yield return [.. batch];
        }
    }
}
