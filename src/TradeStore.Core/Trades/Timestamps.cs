namespace TradeStore.Core.Trades;

/// <summary>Times are UTC with microsecond precision everywhere (the precision of DuckDB's TIMESTAMP).</summary>
public static class Timestamps
{
    /// <summary>Converts to UTC and truncates to whole microseconds, so a value reads back from any store unchanged.</summary>
    public static DateTimeOffset Normalize(DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % 10), TimeSpan.Zero);
    }

    /// <summary>
    /// The UTC ticks of <paramref name="value"/> rounded up to whole microseconds: a bound compared with stored
    /// (whole-microsecond) times keeps its meaning, since a stored time t is at or after a bound b exactly when it is at
    /// or after b rounded up. In the last microsecond of the year 9999 that is past <see cref="DateTimeOffset.MaxValue"/>
    /// (so a tick count, not a time): <c>to=9999-12-31T23:59:59.9999999Z</c> still takes a trade stored at
    /// <c>…59.999999Z</c>, and a <c>from</c> there no longer does.
    /// </summary>
    public static long CeilingTicks(DateTimeOffset value)
    {
        var ticks = value.UtcTicks;
        var rest = ticks % 10;
        return rest == 0 ? ticks : ticks - rest + 10;
    }

    /// <summary>Microseconds since the Unix epoch: how ClickHouse 18.16, which lacks DateTime64, stores times.</summary>
    public static long ToUnixMicroseconds(DateTimeOffset value) => (value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    public static DateTimeOffset FromUnixMicroseconds(long microseconds) => DateTimeOffset.UnixEpoch.AddTicks(microseconds * 10);
}
