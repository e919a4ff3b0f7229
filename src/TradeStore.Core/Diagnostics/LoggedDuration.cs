namespace TradeStore.Core.Diagnostics;

/// <summary>
/// A duration as a log line prints it, <see cref="Durations.Format"/> (<c>250ms</c>, <c>1.5s</c>, <c>2m</c>): the type of
/// a <c>[LoggerMessage]</c> parameter that holds a duration. A <see cref="TimeSpan"/> there printed .NET's
/// <c>00:00:01.2340000</c>; a <see cref="TimeSpan"/> argument converts to this one implicitly.
/// </summary>
public readonly record struct LoggedDuration(TimeSpan Value)
{
    public static implicit operator LoggedDuration(TimeSpan value) => new(value);

    public static LoggedDuration FromTimeSpan(TimeSpan value) => new(value);

    public override string ToString() => Durations.Format(Value);
}
