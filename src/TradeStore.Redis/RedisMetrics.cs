using System.Diagnostics.Metrics;

namespace TradeStore.Redis;

/// <summary>The one meter of this assembly (<c>TradeStore.Redis</c>): how far the Redis projection trails the journal and how it fares.</summary>
public static class RedisMetrics
{
    public const string MeterName = "TradeStore.Redis";

    /// <summary>Name of the histogram of per-event projection delay: commit (recordedAt) to visible in Redis.</summary>
    public const string DelayInstrument = "tradestore.redis.projection.delay";

    internal static readonly Meter Meter = new(MeterName);

    internal static readonly Histogram<double> Delay = Meter.CreateHistogram(DelayInstrument, "s",
        "Time from an event's recordedAt to its batch being visible in Redis.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });

    internal static readonly Counter<long> Batches = Meter.CreateCounter<long>("tradestore.redis.batches", "{batch}", "Batches applied to Redis.");

    internal static readonly Counter<long> Events = Meter.CreateCounter<long>("tradestore.redis.events", "{event}", "Journal events applied to Redis.");

    internal static readonly Counter<long> Failures = Meter.CreateCounter<long>("tradestore.redis.failures", "{failure}", "Failed attempts to apply a batch (Redis down, slow or refusing).");

    internal static readonly Counter<long> CatchUps = Meter.CreateCounter<long>("tradestore.redis.catchups", "{run}", "Catch-up runs: the projector re-read its checkpoint from Redis (start-up, after a failure, after a rebuild).");
}
