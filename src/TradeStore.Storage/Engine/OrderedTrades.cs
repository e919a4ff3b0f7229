using TradeStore.Core.Trades;

namespace TradeStore.Storage.Engine;

/// <summary>
/// The live trades of one scope (every trade, one account, one account and symbol, or one symbol) ordered by
/// (<see cref="Trade.ExecutedAt"/>, <see cref="Trade.TradeId"/> ordinal): the order of a list page and of its keyset cursor.
/// </summary>
/// <remarks>
/// By design a two-level sorted list, not a tree: a directory of chunks of at most <see cref="ChunkCapacity"/> trade
/// references. A seek is two binary searches; an insert shifts at most one chunk and, on a split, the directory
/// (1/<see cref="ChunkCapacity"/> of the entries). Trades arrive mostly in time order, so an append to the last chunk
/// opens a new chunk instead of splitting: such chunks stay full and an entry costs about 8 bytes. The entries are the
/// state index's own <see cref="Trade"/> objects, so a page costs no copy of a trade.
/// The single writer and the readers share one short lock per instance (its monitor, which allocates nothing until
/// contended): a writer holds it for one insert or removal, a reader for at most <see cref="StepLimit"/> trades looked at.
/// </remarks>
internal sealed class OrderedTrades
{
    /// <summary>Trades per chunk at most; 256 references fill 2 KiB.</summary>
    internal const int ChunkCapacity = 256;

    private Chunk[] _chunks = [];
    private int _chunkCount;
    private int _count;

    /// <summary>Trades held.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Compares a trade with the position (<paramref name="ticks"/>, <paramref name="tradeId"/>) in list order.</summary>
    internal static int Compare(Trade trade, long ticks, string tradeId)
    {
        var byTime = trade.ExecutedAt.UtcTicks.CompareTo(ticks);
        return byTime != 0 ? byTime : string.CompareOrdinal(trade.TradeId, tradeId);
    }

    /// <summary>List order of two trades.</summary>
    internal static int Compare(Trade a, Trade b) => Compare(a, b.ExecutedAt.UtcTicks, b.TradeId);

    /// <summary>Adds a trade that is not held yet. Loading in list order only ever appends.</summary>
    public void Add(Trade trade)
    {
        lock (this)
        {
            Insert(trade);
        }
    }

    /// <summary>
    /// Appends a trade that follows every held one, without the lock: only while the list is built at start-up, before
    /// any reader can see it. Full chunks stay full, so a loaded list costs about 8 bytes per trade.
    /// </summary>
    public void AppendLoading(Trade trade)
    {
        if (_chunkCount == 0 || _chunks[_chunkCount - 1].Count == ChunkCapacity)
        {
            InsertChunk(_chunkCount, new Chunk(_chunkCount == 0 ? 4 : ChunkCapacity));
        }

        _chunks[_chunkCount - 1].InsertAt(_chunks[_chunkCount - 1].Count, trade);
        _count++;
    }

    /// <summary>
    /// Ends a load: the last chunk and the directory give back the room they grew into but do not use. Most scopes of
    /// an account and a symbol hold a few trades, so their one chunk would otherwise keep up to half its slots empty.
    /// </summary>
    public void TrimLoading()
    {
        if (_chunkCount > 0 && _chunks[_chunkCount - 1] is { } last && last.Count < last.Items.Length)
        {
            Array.Resize(ref last.Items, last.Count);
        }

        if (_chunkCount < _chunks.Length)
        {
            Array.Resize(ref _chunks, _chunkCount);
        }
    }

    /// <summary>
    /// Replaces <paramref name="previous"/> (a state of the same trade that is held) by <paramref name="current"/>,
    /// moving it when its execution time changed.
    /// </summary>
    public void Replace(Trade previous, Trade current)
    {
        lock (this)
        {
            if (previous.ExecutedAt.UtcTicks == current.ExecutedAt.UtcTicks && Locate(previous, out var chunk, out var index))
            {
                _chunks[chunk].Items[index] = current;
                return;
            }

            RemoveHeld(previous);
            Insert(current);
        }
    }

    /// <summary>Removes <paramref name="previous"/>, a state of a held trade; nothing when it is not held.</summary>
    public void Remove(Trade previous)
    {
        lock (this)
        {
            RemoveHeld(previous);
        }
    }

    /// <summary>
    /// Appends to <paramref name="into"/> at most <paramref name="take"/> trades that follow the position
    /// (<paramref name="startTicks"/>, <paramref name="startId"/>) — strictly after it, or at or after it when
    /// <paramref name="inclusive"/> — execute before <paramref name="endTicks"/> and pass <paramref name="status"/>.
    /// </summary>
    public void Walk(long startTicks, string startId, bool inclusive, long endTicks, TradeStatus? status, int take, List<Trade> into)
    {
        // By design the lock is let go after every StepLimit trades looked at, and the walk resumes after the last
        // one, exactly as a cursor would: a status filter that skips most of a large index never stalls the writer.
        var examined = StepLimit;
        while (take > 0 && examined == StepLimit)
        {
            lock (this)
            {
                (examined, take) = Step(ref startTicks, ref startId, ref inclusive, endTicks, status, take, into);
            }
        }
    }

    /// <summary>Trades looked at under one hold of the lock, at most.</summary>
    internal const int StepLimit = 4_096;

    /// <summary>
    /// One part of <see cref="Walk"/> under the lock: returns how many trades it looked at (<see cref="StepLimit"/> when
    /// it stopped for the limit and moved the start past them) and how many are still to take.
    /// </summary>
    private (int Examined, int Take) Step(ref long startTicks, ref string startId, ref bool inclusive, long endTicks, TradeStatus? status, int take, List<Trade> into)
    {
        var examined = 0;
        Seek(startTicks, startId, inclusive, out var chunk, out var index);
        for (; chunk < _chunkCount; chunk++, index = 0)
        {
            var current = _chunks[chunk];
            for (; index < current.Count; index++)
            {
                var trade = current.Items[index];
                if (trade.ExecutedAt.UtcTicks >= endTicks)
                {
                    return (examined, 0);
                }

                if (status is null || trade.Status == status)
                {
                    into.Add(trade);
                    if (--take == 0)
                    {
                        return (examined, 0);
                    }
                }

                if (++examined == StepLimit)
                {
                    (startTicks, startId, inclusive) = (trade.ExecutedAt.UtcTicks, trade.TradeId, false);
                    return (examined, take);
                }
            }
        }

        return (examined, take);
    }

    /// <summary>The first position at (or after, when not <paramref name="inclusive"/>) the given key.</summary>
    private void Seek(long ticks, string tradeId, bool inclusive, out int chunk, out int index)
    {
        // The first chunk whose last trade is not before the key.
        int low = 0, high = _chunkCount - 1;
        chunk = _chunkCount;
        while (low <= high)
        {
            var middle = (low + high) >>> 1;
            var last = _chunks[middle];
            if (Before(last.Items[last.Count - 1], ticks, tradeId, inclusive))
            {
                low = middle + 1;
            }
            else
            {
                chunk = middle;
                high = middle - 1;
            }
        }

        if (chunk == _chunkCount)
        {
            index = 0;
            return;
        }

        var items = _chunks[chunk];
        low = 0;
        high = items.Count - 1;
        index = items.Count;
        while (low <= high)
        {
            var middle = (low + high) >>> 1;
            if (Before(items.Items[middle], ticks, tradeId, inclusive))
            {
                low = middle + 1;
            }
            else
            {
                index = middle;
                high = middle - 1;
            }
        }
    }

    private static bool Before(Trade trade, long ticks, string tradeId, bool inclusive)
    {
        var order = Compare(trade, ticks, tradeId);
        return inclusive ? order < 0 : order <= 0;
    }

    private bool Locate(Trade trade, out int chunk, out int index)
    {
        Seek(trade.ExecutedAt.UtcTicks, trade.TradeId, inclusive: true, out chunk, out index);
        return chunk < _chunkCount && index < _chunks[chunk].Count
            && string.Equals(_chunks[chunk].Items[index].TradeId, trade.TradeId, StringComparison.Ordinal)
            && _chunks[chunk].Items[index].ExecutedAt.UtcTicks == trade.ExecutedAt.UtcTicks;
    }

    private void RemoveHeld(Trade previous)
    {
        if (!Locate(previous, out var chunk, out var index))
        {
            return;
        }

        var current = _chunks[chunk];
        current.Count--;
        Array.Copy(current.Items, index + 1, current.Items, index, current.Count - index);
        current.Items[current.Count] = null!;
        if (current.Count == 0)
        {
            _chunkCount--;
            Array.Copy(_chunks, chunk + 1, _chunks, chunk, _chunkCount - chunk);
            _chunks[_chunkCount] = null!;
        }

        Volatile.Write(ref _count, _count - 1);
    }

    private void Insert(Trade trade)
    {
        var ticks = trade.ExecutedAt.UtcTicks;
        int chunk, index;
        if (_chunkCount > 0 && Compare(Last(), ticks, trade.TradeId) < 0)
        {
            // By design the common case first: trades mostly arrive in time order, and an append needs no seek (whose
            // binary searches cost a cache miss per step once an index holds millions of trades).
            chunk = _chunkCount;
            index = 0;
        }
        else
        {
            Seek(ticks, trade.TradeId, inclusive: true, out chunk, out index);
        }

        if (chunk == _chunkCount)
        {
            // After every held trade: the end of the last chunk, or a new chunk when it is full.
            if (_chunkCount == 0 || _chunks[_chunkCount - 1].Count == ChunkCapacity)
            {
                InsertChunk(_chunkCount, new Chunk(_chunkCount == 0 ? 4 : ChunkCapacity));
            }

            chunk = _chunkCount - 1;
            index = _chunks[chunk].Count;
        }

        var target = _chunks[chunk];
        if (target.Count == ChunkCapacity)
        {
            // Split in halves; the new trade goes into the half that covers its position.
            var upper = new Chunk(ChunkCapacity);
            var half = ChunkCapacity / 2;
            Array.Copy(target.Items, half, upper.Items, 0, ChunkCapacity - half);
            Array.Clear(target.Items, half, ChunkCapacity - half);
            upper.Count = ChunkCapacity - half;
            target.Count = half;
            InsertChunk(chunk + 1, upper);
            if (index > half)
            {
                target = upper;
                index -= half;
            }
        }

        target.InsertAt(index, trade);
        Volatile.Write(ref _count, _count + 1);
    }

    private Trade Last()
    {
        var last = _chunks[_chunkCount - 1];
        return last.Items[last.Count - 1];
    }

    private void InsertChunk(int at, Chunk chunk)
    {
        if (_chunkCount == _chunks.Length)
        {
            Array.Resize(ref _chunks, Math.Max(1, _chunks.Length * 2));
        }

        Array.Copy(_chunks, at, _chunks, at + 1, _chunkCount - at);
        _chunks[at] = chunk;
        _chunkCount++;
    }

    /// <summary>A sorted run of trades; small scopes start with a few slots and grow to <see cref="ChunkCapacity"/>.</summary>
    private sealed class Chunk(int capacity)
    {
        public Trade[] Items = new Trade[capacity];
        public int Count;

        public void InsertAt(int index, Trade trade)
        {
            if (Count == Items.Length)
            {
                Array.Resize(ref Items, Math.Min(ChunkCapacity, Items.Length * 2));
            }

            Array.Copy(Items, index, Items, index + 1, Count - index);
            Items[index] = trade;
            Count++;
        }
    }
}
