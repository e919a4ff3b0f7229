using System.Collections.Concurrent;

namespace TradeStore.Bench;

/// <summary>
/// What the server acknowledged during an HTTP run: each trade's highest acknowledged version (checked afterwards),
/// and the pool of trades free for the next amend or fill. A trade is taken out of the pool while a command on it
/// is in flight, so the generator never races itself into version conflicts and always knows the current version.
/// </summary>
internal sealed class HttpLedger
{
    private readonly ConcurrentDictionary<string, long> _acknowledged = new(StringComparer.Ordinal);
    private readonly List<(string Id, long Version)> _available = [];
    private readonly List<string> _readable = [];
    private readonly object _sync = new();

    public int Count => _acknowledged.Count;

    /// <summary>Records an acknowledged write; <paramref name="reusable"/> puts the trade back for later amends and fills.</summary>
    public void Acknowledge(string tradeId, long version, bool reusable)
    {
        _acknowledged.AddOrUpdate(tradeId, version, (_, known) => Math.Max(known, version));
        lock (_sync)
        {
            if (version == 1)
            {
                _readable.Add(tradeId);
            }

            if (reusable)
            {
                _available.Add((tradeId, version));
            }
        }
    }

    /// <summary>Takes a random trade out of the pool (until it is acknowledged again), or null when none is free.</summary>
    public (string Id, long Version)? Take(Random random)
    {
        lock (_sync)
        {
            if (_available.Count == 0)
            {
                return null;
            }

            var index = random.Next(_available.Count);
            var taken = _available[index];
            _available[index] = _available[^1];
            _available.RemoveAt(_available.Count - 1);
            return taken;
        }
    }

    /// <summary>A random trade id known to exist (for reads).</summary>
    public string? RandomReadable(Random random)
    {
        lock (_sync)
        {
            return _readable.Count == 0 ? null : _readable[random.Next(_readable.Count)];
        }
    }

    /// <summary>Every acknowledged trade, or a random sample of <paramref name="limit"/> of them.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Snapshot(int? limit)
    {
        var all = _acknowledged.ToArray();
        if (limit is not { } max || all.Length <= max)
        {
            return all;
        }

        Random.Shared.Shuffle(all);
        return all[..max];
    }
}
