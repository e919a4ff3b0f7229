namespace TradeStore.TestSupport;

/// <summary>
/// The managed memory an object holds, the one way the memory tests and <c>tradestore-bench index</c> measure it: the
/// bytes <see cref="GC.GetTotalMemory"/> counts after a full collection once it is built, less those before. Whatever
/// else the process allocates meanwhile counts too, so tests that measure run alone (xunit: a collection without
/// parallelism).
/// </summary>
public static class HeldMemory
{
    /// <summary>Builds with <paramref name="build"/>, and returns the bytes its result holds (it is alive when measured).</summary>
    public static long Of<T>(Func<T> build, out T built)
    {
        ArgumentNullException.ThrowIfNull(build);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        built = build();
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(built);
        return after - before;
    }
}
