using System.Diagnostics.Metrics;
using TradeStore.ClickHouse.Sync;
using TradeStore.Core.Metrics;

namespace TradeStore.ClickHouse;

/// <summary>
/// The instruments of the assembly's one meter, <c>TradeStore.ClickHouse</c> (OpenTelemetry-style names and units). The
/// counts are <see cref="ZeroBasedCounter"/>s: each, and the failures of every kind, exported at 0 from the start.
/// </summary>
public sealed class ClickHouseMetrics
{
    public const string MeterName = "TradeStore.ClickHouse";

    /// <summary>Lag buckets in seconds, dense around the 250 ms target.</summary>
    private static readonly IReadOnlyList<double> LagBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.35, 0.5, 0.75, 1, 2.5, 5, 10, 30, 60, 300];

    private static readonly IReadOnlyList<int> BatchBuckets = [1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000];

    private readonly ZeroBasedCounter _failures;

    /// <summary>Name of the gauge of the oldest pending event's age, exported as <c>tradestore_sync_pending_age_seconds</c>.</summary>
    public const string PendingAgeInstrument = "tradestore.sync.pending_age";

    /// <param name="state">The sync's state: the backlog gauges read 0 while the daemon does not run in this process (a cluster follower).</param>
    /// <param name="meterFactory">Creates the meter.</param>
    public ClickHouseMetrics(ClickHouseSyncState state, IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        Lag = meter.CreateHistogram("tradestore.sync.lag", "s", "Time from an event's recorded_at until its INSERT into ClickHouse returned.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LagBuckets });
        BatchSize = meter.CreateHistogram("tradestore.sync.batch.size", "{event}", "Events per ClickHouse INSERT.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = BatchBuckets });
        Batches = new ZeroBasedCounter(meter, "tradestore.sync.batches", "{batch}", "Batches delivered to ClickHouse.").Series();
        Events = new ZeroBasedCounter(meter, "tradestore.sync.events", "{event}", "Events delivered to ClickHouse.").Series();
        Retries = new ZeroBasedCounter(meter, "tradestore.sync.retries", "{retry}", "Attempts retried after a failure.").Series();
        _failures = new ZeroBasedCounter(meter, "tradestore.sync.failures", "{failure}", "Failed attempts, by kind (tag kind).", "kind");
        foreach (var kind in SyncFailures.Kinds)
        {
            _failures.Series(kind);
        }
        meter.CreateObservableGauge("tradestore.sync.events_behind", state.EventsBehind, "{event}",
            "Committed journal events not known to be in ClickHouse (until ClickHouse answers after a start, counted from DuckDB's copy of the checkpoint); 0 on a cluster follower, where the sync does not run.");
        // By design a gauge beside the lag histogram: the histogram measures delivered events only, so while ClickHouse
        // is away it shows nothing (NaN) exactly when events wait; this grows with the wait, as tradestore.redis.lag does.
        meter.CreateObservableGauge(PendingAgeInstrument, state.PendingAge, "s",
            "Age of the oldest committed journal event not yet in ClickHouse (0 when caught up, and on a cluster follower); an upper bound.");
    }

    public Histogram<double> Lag { get; }

    public Histogram<int> BatchSize { get; }

    public CounterSeries Batches { get; }

    public CounterSeries Events { get; }

    public CounterSeries Retries { get; }

    /// <summary>Counts a failed attempt of <paramref name="kind"/> (<see cref="SyncFailures.Kind"/>).</summary>
    public void Failed(string kind) => _failures.Series(kind).Add();
}
