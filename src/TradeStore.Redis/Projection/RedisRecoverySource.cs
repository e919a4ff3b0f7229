using StackExchange.Redis;
using TradeStore.Core.Trades;
using TradeStore.Storage.Recovery;

namespace TradeStore.Redis.Projection;

/// <summary>The change stream as a source for <c>tradestore recover --from redis</c>: every entry carries the full journal row.</summary>
public sealed class RedisRecoverySource(IDatabase redis, RedisKeys keys) : IJournalRecoverySource
{
    private const int PageSize = 10_000;

    public string Name => $"the Redis stream {keys.Stream}";

    /// <summary>
    /// The seq of the stream's oldest entry, or <see langword="null"/> when it is empty (one read, nothing changed): into an
    /// empty journal only a stream that still starts at seq 1 can be recovered, which <c>recover --set-aside</c> asks
    /// before it moves the damaged files.
    /// </summary>
    public async Task<long?> OldestSeqAsync()
    {
        var oldest = await redis.StreamRangeAsync(keys.Stream, "-", "+", 1);
        return oldest.Length == 0 ? null : RedisFormat.SeqOfStreamId((string)oldest[0].Id!);
    }

    public async Task<RecoverySourceEvents> ReadFromAsync(long fromSeq, CancellationToken cancellationToken)
    {
        var oldest = await redis.StreamRangeAsync(keys.Stream, "-", "+", 1);
        var events = new List<TradeEvent>();
        RedisValue from = RedisFormat.StreamId(fromSeq);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = await redis.StreamRangeAsync(keys.Stream, from, "+", PageSize);
            foreach (var entry in page)
            {
                try
                {
                    events.Add(RedisFormat.ParseEvent(RedisFormat.ToDictionary(entry.Values)));
                }
                catch (Exception ex) when (ex is FormatException or OverflowException)
                {
                    throw new FormatException($"Stream entry {entry.Id} of {keys.Stream} is malformed: {ex.Message}", ex);
                }
            }

            if (page.Length < PageSize)
            {
                break;
            }

            from = $"({page[^1].Id}";
        }

        return new RecoverySourceEvents(oldest.Length == 0 ? null : RedisFormat.SeqOfStreamId((string)oldest[0].Id!), events);
    }
}
