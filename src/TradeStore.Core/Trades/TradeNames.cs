using System.Collections.Concurrent;

namespace TradeStore.Core.Trades;

/// <summary>
/// One shared instance of each name a trade carries that many trades repeat (account, symbol, venue, trader). A book of
/// millions of trades holds thousands of accounts and symbols: without sharing, every trade held its own copy of each
/// (about 40 bytes apiece), which the GC copied twice as the index grew and which a start-up read once per row.
/// </summary>
public static class TradeNames
{
    /// <summary>Most names shared; past it a name is kept as given (a flood of distinct names cannot grow the table without bound).</summary>
    public const int Capacity = 1 << 20;

    private static readonly ConcurrentDictionary<string, string> Names = new(StringComparer.Ordinal);
    private static int _count;

    /// <summary>The shared instance equal to <paramref name="name"/> (<paramref name="name"/> itself the first time).</summary>
    public static string Share(string name)
    {
        if (Names.TryGetValue(name, out var shared))
        {
            return shared;
        }

        if (Volatile.Read(ref _count) >= Capacity)
        {
            return name;
        }

        shared = Names.GetOrAdd(name, name);
        if (ReferenceEquals(shared, name))
        {
            Interlocked.Increment(ref _count);
        }

        return shared;
    }

    /// <summary><see cref="Share"/> for a name that may be absent.</summary>
    public static string? ShareOptional(string? name) => name is null ? null : Share(name);
}
