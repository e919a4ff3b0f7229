using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace TradeStore.Core.Metrics;

/// <summary>
/// A count that only grows, exported as an observable counter whose every known series (each combination of tag values
/// named up front, or the one series of an untagged counter) is reported from the first collection on, at 0.
/// </summary>
/// <remarks>
/// By design not a <see cref="Counter{T}"/>: a counter's series appears in <c>/metrics</c> only after its first
/// <c>Add</c>, so a failure counter a dashboard charts showed "No data" on a healthy service, and Prometheus'
/// <c>rate()</c>/<c>increase()</c> missed the first increment (a series that starts at 1 has no earlier sample to rise
/// from), so an alert on the first failure did not fire. An <c>Add(0)</c> at start-up does not help either: measurements
/// made before the exporter listens are dropped, and the services start before it does. Observed values are read at
/// each collection, whenever the exporter started.
/// </remarks>
public sealed class ZeroBasedCounter
{
    private readonly string[] _tagNames;
    private readonly ConcurrentDictionary<string, CounterSeries> _series = new(StringComparer.Ordinal);

    /// <param name="meter">The meter the counter belongs to (from the host's <see cref="IMeterFactory"/>).</param>
    /// <param name="name">The instrument's name, for example <c>tradestore.redis.failures</c>.</param>
    /// <param name="unit">Its unit, for example <c>{failure}</c>.</param>
    /// <param name="description">What it counts (the exported HELP text).</param>
    /// <param name="tagNames">The names of its tags; none for an untagged counter.</param>
    public ZeroBasedCounter(Meter meter, string name, string? unit, string description, params string[] tagNames)
    {
        _tagNames = tagNames;
        meter.CreateObservableCounter(name, Observe, unit, description);
    }

    /// <summary>
    /// The series of these tag values (one per tag name, in order; none for an untagged counter), reported at 0 from now
    /// on. Take every known series when the component starts, and keep the handles for the hot path.
    /// </summary>
    public CounterSeries Series(params string[] tagValues)
    {
        if (tagValues.Length != _tagNames.Length)
        {
            throw new ArgumentException($"Expected {_tagNames.Length} tag value(s) ({string.Join(", ", _tagNames)}), got {tagValues.Length}.", nameof(tagValues));
        }

        return _series.GetOrAdd(string.Join('\0', tagValues), static (_, state) => new CounterSeries(
            [.. state.Names.Zip(state.Values, (tag, value) => new KeyValuePair<string, object?>(tag, value))]), (Names: _tagNames, Values: tagValues));
    }

    private IEnumerable<Measurement<long>> Observe() =>
        _series.Values.Select(series => new Measurement<long>(series.Value, series.Tags));
}

/// <summary>One series of a <see cref="ZeroBasedCounter"/>: a thread-safe running total.</summary>
public sealed class CounterSeries
{
    private long _value;

    internal CounterSeries(KeyValuePair<string, object?>[] tags)
    {
        Tags = tags;
    }

    internal KeyValuePair<string, object?>[] Tags { get; }

    /// <summary>The total so far.</summary>
    public long Value => Interlocked.Read(ref _value);

    /// <summary>Adds <paramref name="delta"/> (not negative: a counter only grows).</summary>
    public void Add(long delta = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(delta);
        Interlocked.Add(ref _value, delta);
    }
}
