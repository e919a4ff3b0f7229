using StackExchange.Redis;

namespace TradeStore.Redis.Streams;

/// <summary>One entry of the change stream: its stream id, the journal seq that id carries, and its fields in the order the projector wrote them.</summary>
/// <param name="MissedBefore">
/// Events missing between the entry read before this one (or the position started from) and this one: entry ids are
/// the journal's gap-free seqs, so a jump means entries were trimmed (<c>Redis:StreamMaxLength</c>) while the reader
/// was behind, or deleted. 0 when none.
/// </param>
public sealed record ChangeStreamEntry(string Id, long Seq, IReadOnlyList<KeyValuePair<string, string>> Fields, long MissedBefore = 0);

/// <summary>
/// Follows the Redis change stream (<see cref="RedisKeys.Stream"/>) from a position: blocking reads with
/// <c>XREAD … BLOCK</c>, one page at a time. By design it needs a connection of its own: a blocking read holds it.
/// StackExchange.Redis has no blocking stream read, so the command is sent as is and both reply shapes are read
/// (RESP2 nests <c>[[key, entries]]</c>, RESP3 answers a map <c>{key: entries}</c>).
/// </summary>
public sealed class ChangeStreamReader(IDatabase redis, RedisKeys keys)
{
    private string _after = "0-0";

    /// <summary>The seq of <see cref="_after"/>; -1 when started at the newest entry of an empty stream, so the first entry read sets it.</summary>
    private long _afterSeq = -1;

    /// <summary>
    /// Positions the reader just before <paramref name="fromSeq"/>, or after the newest entry (only new events)
    /// when <see langword="null"/>. Returns the seq the stream starts at when events before <paramref name="fromSeq"/>
    /// were trimmed (<c>Redis:StreamMaxLength</c>), otherwise <see langword="null"/>.
    /// </summary>
    public async Task<long?> StartAsync(long? fromSeq)
    {
        if (fromSeq is { } seq)
        {
            var oldest = await redis.StreamRangeAsync(keys.Stream, "-", "+", 1);
            var first = oldest.Length > 0 ? RedisFormat.SeqOfStreamId((string)oldest[0].Id!) : (long?)null;
            // Trimmed: the caller is told here, so the first read does not count the same events as missed again.
            var start = first > seq ? first.Value : seq;
            _afterSeq = start - 1;
            _after = RedisFormat.StreamId(_afterSeq);
            return first > seq ? first : null;
        }

        var newest = await redis.StreamRangeAsync(keys.Stream, "-", "+", 1, Order.Descending);
        _after = newest.Length > 0 ? (string)newest[0].Id! : "0-0";
        _afterSeq = newest.Length > 0 ? RedisFormat.SeqOfStreamId(_after) : -1;
        return null;
    }

    /// <summary>Where the next read starts, for messages: "seq N", the one after the last entry read, or "new events".</summary>
    public string Position => _afterSeq >= 0 ? "seq " + RedisFormat.Long(_afterSeq + 1) : "new events";

    /// <summary>
    /// The next entries after the current position, at most <paramref name="count"/>, waiting up to
    /// <paramref name="block"/> for one to arrive (empty when none did). The position moves past what is returned; an
    /// entry that does not follow the one before it says how many events are missing (<see cref="ChangeStreamEntry.MissedBefore"/>).
    /// A failed read (Redis restarted, say) leaves the position where it was, so reading again resumes there: the
    /// projector writes every event under the same id again, whatever Redis lost.
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

            var id = (string)parts[0]!;
            var seq = RedisFormat.SeqOfStreamId(id);
            var missed = _afterSeq >= 0 && seq > _afterSeq + 1 ? seq - _afterSeq - 1 : 0;
            _after = id;
            _afterSeq = seq;
            read.Add(new ChangeStreamEntry(id, seq, pairs, missed));
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
