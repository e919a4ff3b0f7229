using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using TradeStore.Core.Metrics;
using TradeStore.Redis.Projection;

namespace TradeStore.Redis;

/// <summary>
/// The instruments of this assembly's one meter (<c>TradeStore.Redis</c>), created through the container's
/// <see cref="IMeterFactory"/>: how far the Redis projection trails the journal and how it fares. The counts are
/// <see cref="ZeroBasedCounter"/>s, exported at 0 from the start (a failure panel shows 0, not "No data").
/// </summary>
public sealed class RedisMetrics
{
    public const string MeterName = "TradeStore.Redis";

    /// <summary>Name of the histogram of per-event projection delay: commit (recordedAt) to visible in Redis.</summary>
    public const string DelayInstrument = "tradestore.redis.projection.delay";

    private readonly ConcurrentDictionary<RedisProjector, bool> _running = new();

    public RedisMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        Delay = meter.CreateHistogram(DelayInstrument, "s",
            "Time from an event's recordedAt to its batch being visible in Redis.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        Batches = new ZeroBasedCounter(meter, "tradestore.redis.batches", "{batch}", "Batches applied to Redis.").Series();
        Events = new ZeroBasedCounter(meter, "tradestore.redis.events", "{event}", "Journal events applied to Redis.").Series();
        Failures = new ZeroBasedCounter(meter, "tradestore.redis.failures", "{failure}", "Failed attempts to apply a batch (Redis down, slow or refusing).").Series();
        CatchUps = new ZeroBasedCounter(meter, "tradestore.redis.catchups", "{run}", "Catch-up runs: the projector re-read its checkpoint from Redis (start-up, after a failure, after a rebuild).").Series();
        meter.CreateObservableGauge("tradestore.redis.lag.events", () => _running.Keys.Sum(p => p.Status.LagEvents), "{event}",
            "Journal events not yet projected to Redis.");
        meter.CreateObservableGauge("tradestore.redis.lag", () => _running.Keys.Select(p => p.Status.Lag.TotalSeconds).DefaultIfEmpty(0).Max(), "s",
            "Age of the oldest journal event not yet projected to Redis.");
    }

    internal Histogram<double> Delay { get; }

    internal CounterSeries Batches { get; }

    internal CounterSeries Events { get; }

    internal CounterSeries Failures { get; }

    internal CounterSeries CatchUps { get; }

    /// <summary>The lag gauges report <paramref name="projector"/> while it runs.</summary>
    internal void Started(RedisProjector projector) => _running[projector] = true;

    internal void Stopped(RedisProjector projector) => _running.TryRemove(projector, out _);
}
