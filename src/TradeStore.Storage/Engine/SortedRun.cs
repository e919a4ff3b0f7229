using System.Runtime.CompilerServices;

namespace TradeStore.Storage.Engine;

/// <summary>The name a <see cref="SortedRun{T, TName}"/> orders its items by (ordinal).</summary>
internal interface IRunName<in T>
{
    static abstract string Of(T item);
}

/// <summary>
/// Items in ordinal order of their names, each name once, for one writer and readers on other threads: a sorted array
/// plus a small sorted overflow that new names go into. A run never changes which names it holds: adding one makes a new
/// run, which its owner publishes with one reference write, so a reader that took a run walks exactly the names it
/// held, in order, each once, whatever the writer does meanwhile. The writer replaces the item of a name it holds in place
/// (<see cref="SlotOf"/>).
/// </summary>
/// <remarks>
/// By design neither a tree nor one array copied whole per new name. Readers walk arrays: the overflow's items are
/// merged into the walk at the places a binary search of the array gives them, one search per overflow item. A new name
/// costs the writer a copy of the overflow, which is merged into a new array once it holds 1/<see cref="OverflowShare"/>
/// of the array's names, at most <see cref="MostOverflow"/> (8 KiB of references, below the large-object heap): about
/// 64 + n/128 references copied per new name, amortised (512 + n/1,024 past 65,536 names). One array copied whole for
/// each new name made writes in new accounts 25–35 times slower than in known ones at 100,000 accounts (a large-object
/// allocation each); a tree cost 48 bytes a name and walked 3–4 times slower (docs/benchmarks/2026-12-05-session38.md).
/// </remarks>
internal sealed class SortedRun<T, TName>
    where T : class
    where TName : IRunName<T>
{
    /// <summary>The overflow is merged into the array once it holds this share of the array's names …</summary>
    internal const int OverflowShare = 64;

    /// <summary>… or this many names.</summary>
    internal const int MostOverflow = 1024;

    private readonly T[] _main;
    private readonly T[] _overflow;

    private SortedRun(T[] main, T[] overflow)
    {
        _main = main;
        _overflow = overflow;
    }

    /// <summary>The run of no names.</summary>
    public static SortedRun<T, TName> Empty { get; } = new([], []);

    /// <summary>Names held.</summary>
    public int Count => _main.Length + _overflow.Length;

    /// <summary>Names held in the overflow, not yet merged into the array (tests).</summary>
    internal int OverflowCount => _overflow.Length;

    /// <summary>A run of <paramref name="items"/>, whose names must differ.</summary>
    /// <exception cref="ArgumentException">Two items have the same name.</exception>
    public static SortedRun<T, TName> Create(IEnumerable<T> items)
    {
        var sorted = items.ToArray();
        if (sorted.Length == 0)
        {
            return Empty;
        }

        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(TName.Of(a), TName.Of(b)));
        for (var i = 1; i < sorted.Length; i++)
        {
            if (string.Equals(TName.Of(sorted[i - 1]), TName.Of(sorted[i]), StringComparison.Ordinal))
            {
                throw new ArgumentException($"'{TName.Of(sorted[i])}' is named twice.", nameof(items));
            }
        }

        return new(sorted, []);
    }

    /// <summary>The item of <paramref name="name"/>, or <see langword="null"/> when the run does not hold the name.</summary>
    public T? Find(string name)
    {
        ref var slot = ref SlotOf(name);
        return Unsafe.IsNullRef(ref slot) ? null : slot;
    }

    /// <summary>
    /// Where the item of <paramref name="name"/> is held (a null reference when the run does not hold the name), for the
    /// writer to replace it with an item of the same name: with <see cref="Volatile.Write{T}(ref T, T)"/>, so a reader
    /// sees the new item's fields once it sees the item. Writer only, on the run it last published.
    /// </summary>
    public ref T SlotOf(string name)
    {
        var at = IndexOf(_main, name);
        if (at >= 0)
        {
            return ref _main[at];
        }

        at = IndexOf(_overflow, name);
        return ref at >= 0 ? ref _overflow[at] : ref Unsafe.NullRef<T>();
    }

    /// <summary>A run of these names and <paramref name="item"/>'s, which this run must not hold. Writer only.</summary>
    /// <exception cref="ArgumentException">The run holds the name.</exception>
    public SortedRun<T, TName> With(T item)
    {
        var name = TName.Of(item);
        if (IndexOf(_main, name) >= 0 || IndexOf(_overflow, name) >= 0)
        {
            throw new ArgumentException($"'{name}' is held already.", nameof(item));
        }

        if (_overflow.Length < Math.Min(MostOverflow, _main.Length / OverflowShare))
        {
            var at = ~IndexOf(_overflow, name);
            var overflow = new T[_overflow.Length + 1];
            Array.Copy(_overflow, overflow, at);
            overflow[at] = item;
            Array.Copy(_overflow, at, overflow, at + 1, _overflow.Length - at);
            return new(_main, overflow);
        }

        // The merge: every name in order, the new one in its place.
        var merged = new T[Count + 1];
        var count = 0;
        var placed = false;
        foreach (var each in this)
        {
            if (!placed && string.CompareOrdinal(name, TName.Of(each)) < 0)
            {
                merged[count++] = item;
                placed = true;
            }

            merged[count++] = each;
        }

        if (!placed)
        {
            merged[count] = item;
        }

        return new(merged, []);
    }

    public Enumerator GetEnumerator() => new(_main, _overflow, 0, 0);

    /// <summary>
    /// The items named <paramref name="name"/> or after it, in order: a keyset seek, one binary search in the array and
    /// one in the overflow, so a page that starts deep in a run costs what it reads, not what it skips.
    /// </summary>
    public Enumerator From(string name) => new(_main, _overflow, LowerBound(_main, name), LowerBound(_overflow, name));

    /// <summary>Where the first item named <paramref name="name"/> or after it is in <paramref name="items"/>.</summary>
    private static int LowerBound(T[] items, string name)
    {
        var at = IndexOf(items, name);
        return at >= 0 ? at : ~at;
    }

    /// <summary>The index of <paramref name="name"/> in <paramref name="items"/>, or the complement of where it would go.</summary>
    private static int IndexOf(T[] items, string name)
    {
        var low = 0;
        var high = items.Length - 1;
        while (low <= high)
        {
            var middle = low + ((high - low) >> 1);
            var order = string.CompareOrdinal(TName.Of(items[middle]), name);
            if (order == 0)
            {
                return middle;
            }

            if (order < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return ~low;
    }

    /// <summary>The items in order of their names: the array's, with each overflow item before the first array item named after it.</summary>
    public struct Enumerator
    {
        private readonly T[] _main;
        private readonly T[] _overflow;
        private int _nextMain;
        private int _nextOverflow;

        // Where the next overflow item goes among the array's items (int.MaxValue when none is left).
        private int _overflowAt;
        private T _current;

        internal Enumerator(T[] main, T[] overflow, int nextMain, int nextOverflow)
        {
            _main = main;
            _overflow = overflow;
            _nextMain = nextMain;
            _nextOverflow = nextOverflow;
            _overflowAt = nextOverflow < overflow.Length ? ~IndexOf(main, TName.Of(overflow[nextOverflow])) : int.MaxValue;
            _current = null!;
        }

        public readonly T Current => _current;

        /// <summary>For <c>foreach</c> over <see cref="From"/>.</summary>
        public readonly Enumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_nextMain == _overflowAt)
            {
                _current = _overflow[_nextOverflow++];
                _overflowAt = _nextOverflow < _overflow.Length ? ~IndexOf(_main, TName.Of(_overflow[_nextOverflow])) : int.MaxValue;
                return true;
            }

            if (_nextMain < _main.Length)
            {
                _current = _main[_nextMain++];
                return true;
            }

            return false;
        }
    }
}
