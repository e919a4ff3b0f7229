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
    /// Converts to UTC and rounds up to whole microseconds: a bound compared with stored (whole-microsecond) times keeps
    /// its meaning, since a stored time t is at or after a bound b exactly when it is at or after b rounded up.
    /// </summary>
    public static DateTimeOffset Ceiling(DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        var rest = utc.Ticks % 10;
        return new DateTimeOffset(rest == 0 || utc.Ticks > DateTimeOffset.MaxValue.UtcTicks - 10 ? utc.Ticks - rest : utc.Ticks - rest + 10, TimeSpan.Zero);
    }

    /// <summary>Microseconds since the Unix epoch: how ClickHouse 18.16, which lacks DateTime64, stores times.</summary>
    public static long ToUnixMicroseconds(DateTimeOffset value) => (value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    public static DateTimeOffset FromUnixMicroseconds(long microseconds) => DateTimeOffset.UnixEpoch.AddTicks(microseconds * 10);
}
