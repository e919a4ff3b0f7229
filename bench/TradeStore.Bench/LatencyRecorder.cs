using System.Diagnostics;
using HdrHistogram;

namespace TradeStore.Bench;

/// <summary>Acknowledgement latencies in microseconds (HdrHistogram, 3 significant digits), safe to record from any thread.</summary>
public sealed class LatencyRecorder
{
    private const long MaxMicroseconds = 120_000_000;

    private readonly LongConcurrentHistogram _histogram = new(1, MaxMicroseconds, 3);

    public long Count => _histogram.TotalCount;

    /// <summary>Records the time from <paramref name="startTimestamp"/> (a <see cref="Stopwatch"/> timestamp) to now.</summary>
    public void RecordSince(long startTimestamp) => Record(Stopwatch.GetElapsedTime(startTimestamp));

    public void Record(TimeSpan latency) => _histogram.RecordValue(Math.Clamp((long)(latency.Ticks / 10.0), 1, MaxMicroseconds));

    public LatencySummary Summarize() => new(
        Percentile(50), Percentile(99), Percentile(99.9), _histogram.GetMaxValue() / 1000.0)
    {
        P90Ms = Percentile(90),
        Count = _histogram.TotalCount,
    };

    private double Percentile(double percentile) => _histogram.TotalCount == 0 ? 0 : _histogram.GetValueAtPercentile(percentile) / 1000.0;
}

/// <summary>Latency percentiles in milliseconds.</summary>
public sealed record LatencySummary(double P50Ms, double P99Ms, double P999Ms, double MaxMs)
{
    public double P90Ms { get; init; }

    /// <summary>How many latencies were recorded.</summary>
    public long Count { get; init; }

    public override string ToString() => FormattableString.Invariant($"p50 {P50Ms:0.000} ms, p90 {P90Ms:0.000} ms, p99 {P99Ms:0.000} ms, p99.9 {P999Ms:0.000} ms, max {MaxMs:0.000} ms");

    /// <summary>The same in microseconds, for in-memory reads (resolution 1 µs).</summary>
    public string ToMicroseconds() => FormattableString.Invariant($"p50 {P50Ms * 1000:0} µs, p99 {P99Ms * 1000:0} µs, p99.9 {P999Ms * 1000:0} µs, max {MaxMs * 1000:0} µs");
}
