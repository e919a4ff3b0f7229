namespace TradeStore.Core.Diagnostics;

/// <summary>
/// Paces the log of a condition that repeats while it lasts: a retry loop against a store that is away, requests refused
/// one after another. The first occurrence of a run is logged in full; later ones only at the 2nd, 4th, 8th, … occurrence
/// or when <see cref="Interval"/> has passed since the last line, whichever comes first, so a fault that lasts an hour
/// writes a few lines in its first seconds and then one a minute, however fast it repeats. A run ends when the caller says
/// so (<see cref="End"/>, on the first success) or by itself after <see cref="Interval"/> without an occurrence.
/// </summary>
/// <remarks>
/// By design: etcd away for two minutes wrote 140–190 lines a minute per cluster node (a lease renewal every 200 ms, each
/// line with a 1.5–3.5 KB stack trace), and a client sending an invalid API key 100 times a second 5,900 lines a minute.
/// </remarks>
public sealed class RepeatPacer(TimeProvider? time = null, TimeSpan? interval = null)
{
    /// <summary>The longest time between two lines of a run that goes on.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private long _count;
    private long _loggedCount;
    private long _startedAt;
    private long _lastAt;
    private long _loggedAt;

    public TimeSpan Interval { get; } = interval ?? DefaultInterval;

    /// <summary>Records one occurrence and says whether (and how) to log it.</summary>
    public Occurrence Record()
    {
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            if (_count > 0 && _time.GetElapsedTime(_lastAt, now) >= Interval)
            {
                _count = 0; // quiet for a whole interval: a new run
            }

            _lastAt = now;
            if (_count++ == 0)
            {
                _startedAt = now;
                _loggedAt = now;
                _loggedCount = 1;
                return new Occurrence(First: true, Log: true, 1, 0, TimeSpan.Zero);
            }

            var log = (_count & (_count - 1)) == 0 || _time.GetElapsedTime(_loggedAt, now) >= Interval;
            if (!log)
            {
                return new Occurrence(First: false, Log: false, _count, 0, _time.GetElapsedTime(_startedAt, now));
            }

            var unlogged = _count - _loggedCount - 1;
            _loggedAt = now;
            _loggedCount = _count;
            return new Occurrence(First: false, Log: true, _count, unlogged, _time.GetElapsedTime(_startedAt, now));
        }
    }

    /// <summary>Whether no run is open: none began, or the last one ended by itself (no occurrence for <see cref="Interval"/>).</summary>
    public bool IsQuiet
    {
        get
        {
            var now = _time.GetTimestamp();
            lock (_lock)
            {
                return _count == 0 || _time.GetElapsedTime(_lastAt, now) >= Interval;
            }
        }
    }

    /// <summary>Ends the run (the condition is over): its occurrences and how long it lasted, or null when none was open.</summary>
    public RunEnded? End()
    {
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            if (_count == 0)
            {
                return null;
            }

            var ended = new RunEnded(_count, _time.GetElapsedTime(_startedAt, now));
            _count = 0;
            return ended;
        }
    }

    /// <summary>
    /// One occurrence: whether it is the first of its run, whether to log it, how many the run holds with it, how many
    /// since the last line were not logged, and how long the run has lasted.
    /// </summary>
    public readonly record struct Occurrence(bool First, bool Log, long Count, long Unlogged, TimeSpan Lasting);

    /// <summary>A run that ended: how many occurrences, over how long.</summary>
    public sealed record RunEnded(long Count, TimeSpan Lasted);
}
