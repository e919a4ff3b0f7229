using StackExchange.Redis;

namespace TradeStore.Redis.Streams;

/// <summary>One entry of the change stream: its stream id and its fields in the order the projector wrote them.</summary>
public sealed record ChangeStreamEntry(string Id, IReadOnlyList<KeyValuePair<string, string>> Fields);

/// <summary>
/// Follows the Redis change stream (<see cref="RedisKeys.Stream"/>) from a position: blocking reads with
/// <c>XREAD … BLOCK</c>, one page at a time. By design it needs a connection of its own: a blocking read holds it.
/// StackExchange.Redis has no blocking stream read, so the command is sent as is and both reply shapes are read
/// (RESP2 nests <c>[[key, entries]]</c>, RESP3 answers a map <c>{key: entries}</c>).
/// </summary>
public sealed class ChangeStreamReader(IDatabase redis, RedisKeys keys)
{
    private string _after = "0-0";

    /// <summary>
    /// Positions the reader just before <paramref name="fromSeq"/>, or after the newest entry (only new events)
    /// when <see langword="null"/>. Returns the seq the stream starts at when events before <paramref name="fromSeq"/>
    /// were trimmed (<c>Redis:StreamMaxLength</c>), otherwise <see langword="null"/>.
    /// </summary>
    public async Task<long?> StartAsync(long? fromSeq)
    {
        if (fromSeq is { } seq)
        {
            _after = RedisFormat.StreamId(seq - 1);
            var oldest = await redis.StreamRangeAsync(keys.Stream, "-", "+", 1);
            var first = oldest.Length > 0 ? RedisFormat.SeqOfStreamId((string)oldest[0].Id!) : (long?)null;
            return first > seq ? first : null;
        }

        var newest = await redis.StreamRangeAsync(keys.Stream, "-", "+", 1, Order.Descending);
        _after = newest.Length > 0 ? (string)newest[0].Id! : "0-0";
        return null;
    }

    /// <summary>
    /// The next entries after the current position, at most <paramref name="count"/>, waiting up to
    /// <paramref name="block"/> for one to arrive (empty when none did). The position moves past what is returned.
    /// </summary>
    public async Task<IReadOnlyList<ChangeStreamEntry>> ReadAsync(int count, TimeSpan block)
    {
        var reply = await redis.ExecuteAsync("XREAD", "COUNT", count, "BLOCK", (long)block.TotalMilliseconds, "STREAMS", (string)keys.Stream!, _after);
        if (reply.IsNull)
        {
            return [];
        }

        var entries = Entries(reply);
        var read = new List<ChangeStreamEntry>(entries.Length);
        foreach (var entry in entries)
        {
            var parts = (RedisResult[])entry!;
            var fields = (RedisResult[])parts[1]!;
            var pairs = new List<KeyValuePair<string, string>>(fields.Length / 2);
            for (var i = 0; i + 1 < fields.Length; i += 2)
            {
                pairs.Add(new((string)fields[i]!, (string)fields[i + 1]!));
            }

            _after = (string)parts[0]!;
            read.Add(new ChangeStreamEntry(_after, pairs));
        }

        return read;
    }

    private static RedisResult[] Entries(RedisResult reply)
    {
        var top = (RedisResult[])reply!;
        if (top.Length == 0)
        {
            return [];
        }

        return top[0].Resp2Type == ResultType.Array ? (RedisResult[])((RedisResult[])top[0]!)[1]! : (RedisResult[])top[1]!;
    }
}
