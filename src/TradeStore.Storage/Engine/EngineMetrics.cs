using System.Collections.Frozen;
using System.Diagnostics.Metrics;
using TradeStore.Core.Metrics;
using TradeStore.Core.Trades;

namespace TradeStore.Storage.Engine;

/// <summary>Names of the write path's meter and instruments, for exporters and in-process listeners.</summary>
public static class EngineMetricsNames
{
    public const string Meter = "TradeStore.Storage";
    public const string Commands = "tradestore.write.commands";
    public const string BatchSize = "tradestore.write.batch.size";
    public const string CommitDuration = "tradestore.write.commit.duration";
    public const string AckLatency = "tradestore.write.ack.latency";
    public const string QueueDepth = "tradestore.write.queue.depth";
    public const string StateFlushDuration = "tradestore.state.flush.duration";
    public const string StateFlushRows = "tradestore.state.flush.rows";
    public const string StateFlushLag = "tradestore.state.flush.lag";
    public const string StateFlushFailures = "tradestore.state.flush.failures";
    public const string ApplyLag = "tradestore.write.apply.lag";
    public const string ApplyDuration = "tradestore.write.apply.duration";
    public const string ApplyBacklog = "tradestore.write.apply.backlog";
    public const string ApplyFailures = "tradestore.write.apply.failures";
    public const string SegmentPreparationFailures = "tradestore.journal.segment.preparation.failures";
    public const string IdempotencyKeys = "tradestore.write.idempotency.keys";
}

/// <summary>
/// Instruments of the write path on the assembly's meter (<see cref="EngineMetricsNames.Meter"/>): what operators watch to see
/// throughput, batching, commit cost and back-pressure. The counters are <see cref="ZeroBasedCounter"/>s: every command
/// type and outcome, and each failure count, is exported at 0 from the start (an alert on the first storage failure fires).
/// </summary>
internal sealed class EngineMetrics : IDisposable
{
    private static readonly string[] TypeNames = ["create", "amend", "fill", "cancel", "delete"];

    /// <summary>Every value of the outcome tag (<see cref="Outcome(CommandResult)"/>).</summary>
    private static readonly string[] OutcomeNames = [.. new[] { "applied", "replayed" }.Concat(Enum.GetValues<CommandErrorKind>().Select(kind => Outcome(kind))).Distinct()];

    /// <summary>
    /// Buckets of DuckDB's apply and state flush, which take milliseconds on a quiet machine and tens of seconds behind a
    /// burst on a starved one: ending at 5 s, more than 1 % of a 45-minute soak's samples fell past the last bucket, and
    /// the p99 read "5 s or more".
    /// </summary>
    private static readonly double[] SlowStepBuckets = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60];

    private readonly Meter _meter;
    private readonly ZeroBasedCounter _commands;

    /// <summary>The series of <see cref="_commands"/> by type (the index of <see cref="TypeNames"/>) and outcome, taken once.</summary>
    private readonly FrozenDictionary<string, CounterSeries>[] _commandSeries;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _commitDuration;
    private readonly Histogram<double> _ackLatency;
    private readonly Histogram<double> _stateFlushDuration;
    private readonly Histogram<int> _stateFlushRows;
    private readonly CounterSeries _stateFlushFailures;
    private readonly Histogram<double> _applyLag;
    private readonly Histogram<double> _applyDuration;
    private readonly CounterSeries _applyFailures;

    public EngineMetrics(IMeterFactory meterFactory, Func<int> queueDepth, Func<long> stateLag, Func<long>? applyBacklog = null,
        Func<long>? segmentPreparationFailures = null, Func<int>? idempotencyKeys = null)
    {
        _meter = meterFactory.Create(EngineMetricsNames.Meter);
        _commands = new ZeroBasedCounter(_meter, EngineMetricsNames.Commands, "{command}", "Commands decided by the writer, by type and outcome.", "type", "outcome");
        _commandSeries = [.. TypeNames.Select(type => OutcomeNames.ToFrozenDictionary(outcome => outcome, outcome => _commands.Series(type, outcome), StringComparer.Ordinal))];
        _batchSize = _meter.CreateHistogram(EngineMetricsNames.BatchSize, "{command}", "Commands per committed batch.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] });
        _commitDuration = _meter.CreateHistogram(EngineMetricsNames.CommitDuration, "s", "Time to append one batch to the journal log and make it durable (the group commit every acknowledgement waits for).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1] });
        _ackLatency = _meter.CreateHistogram(EngineMetricsNames.AckLatency, "s", "From submission to acknowledgement of one command.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 5] });
        _meter.CreateObservableGauge(EngineMetricsNames.QueueDepth, queueDepth, "{command}", "Commands waiting for the writer.");
        _stateFlushDuration = _meter.CreateHistogram(EngineMetricsNames.StateFlushDuration, "s", "Time to write the pending states into trade_state (one transaction).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SlowStepBuckets });
        _stateFlushRows = _meter.CreateHistogram(EngineMetricsNames.StateFlushRows, "{trade}", "Trades written into trade_state per flush.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 10, 100, 1000, 5000, 10000, 20000, 50000, 100000] });
        _stateFlushFailures = new ZeroBasedCounter(_meter, EngineMetricsNames.StateFlushFailures, "{flush}", "Flushes of trade_state that failed (retried; nothing is lost).").Series();
        _applyLag = _meter.CreateHistogram(EngineMetricsNames.ApplyLag, "s", "From the acknowledgement of a batch to the commit of its events into DuckDB's trade_events.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, .. SlowStepBuckets] });
        _applyDuration = _meter.CreateHistogram(EngineMetricsNames.ApplyDuration, "s", "Time of one DuckDB transaction applying journal-log events to trade_events.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SlowStepBuckets });
        _applyFailures = new ZeroBasedCounter(_meter, EngineMetricsNames.ApplyFailures, "{transaction}", "DuckDB applies that failed (retried from memory; the journal log holds the events).").Series();
        _meter.CreateObservableGauge(EngineMetricsNames.ApplyBacklog, applyBacklog ?? (() => 0L), "{event}", "Acknowledged events (durable in the journal log) that DuckDB does not hold yet.");
        _meter.CreateObservableGauge(EngineMetricsNames.IdempotencyKeys, idempotencyKeys ?? (() => 0), "{key}",
            "Idempotency keys remembered in memory (each for Engine:IdempotencyKeyRetention after its write).");
        _meter.CreateObservableGauge(EngineMetricsNames.StateFlushLag, stateLag, "{event}", "Journal events whose state trade_state does not hold yet (reads are exact regardless).");
        _meter.CreateObservableCounter(EngineMetricsNames.SegmentPreparationFailures, segmentPreparationFailures ?? (() => 0L), "{segment}",
            "Journal log segments that could not be prepared ahead (zeroed); the log then writes into a growing file, each fsync costing more (log event 2026).");
    }

    public void Command(TradeCommand command, string outcome)
    {
        var type = (int)command.EventType;
        (_commandSeries[type].GetValueOrDefault(outcome) ?? _commands.Series(TypeNames[type], outcome)).Add();
    }

    public void Batch(int size, TimeSpan commitDuration)
    {
        _batchSize.Record(size);
        _commitDuration.Record(commitDuration.TotalSeconds);
    }

    public void Acknowledged(TimeSpan latency) => _ackLatency.Record(latency.TotalSeconds);

    public void StateFlushed(int rows, TimeSpan duration)
    {
        _stateFlushRows.Record(rows);
        _stateFlushDuration.Record(duration.TotalSeconds);
    }

    public void StateFlushFailed() => _stateFlushFailures.Add();

    public void Applied(TimeSpan duration) => _applyDuration.Record(duration.TotalSeconds);

    public void ApplyLag(TimeSpan lag) => _applyLag.Record(lag.TotalSeconds);

    public void ApplyFailed() => _applyFailures.Add();

    public void Dispose() => _meter.Dispose();

    /// <summary>The outcome tag: <c>applied</c>, <c>replayed</c>, or the snake_case error kind.</summary>
    public static string Outcome(CommandResult result) => result.Error is { } error ? Outcome(error.Kind) : result.Replayed ? "replayed" : "applied";

    private static string Outcome(CommandErrorKind kind) => kind switch
    {
        CommandErrorKind.Validation => "validation",
        CommandErrorKind.NotFound => "not_found",
        CommandErrorKind.AlreadyExists => "already_exists",
        CommandErrorKind.IdempotencyKeyReused => "idempotency_key_reused",
        CommandErrorKind.VersionConflict => "version_conflict",
        CommandErrorKind.InvalidTransition => "invalid_transition",
        CommandErrorKind.Busy => "busy",
        CommandErrorKind.Unavailable => "unavailable",
        CommandErrorKind.StorageFailure => "storage_failure",
        CommandErrorKind.ReplicationUnavailable => "replication_unavailable",
        CommandErrorKind.InDoubt => "in_doubt",
        _ => "other",
    };
}
