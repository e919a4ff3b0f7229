namespace TradeStore.Core.Threading;

/// <summary>A value that only grows, shared between threads without a lock (a seq, a deadline).</summary>
public static class InterlockedMax
{
    /// <summary>Raises <paramref name="location"/> to <paramref name="value"/> when that is larger; never lowers it.</summary>
    public static void Raise(ref long location, long value)
    {
        var current = Volatile.Read(ref location);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref location, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
