using System.Diagnostics.Metrics;
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
}

/// <summary>
/// Instruments of the write path on the assembly's meter (<see cref="EngineMetricsNames.Meter"/>): what operators watch to see
/// throughput, batching, commit cost and back-pressure.
/// </summary>
internal sealed class EngineMetrics : IDisposable
{
    private static readonly string[] TypeNames = ["create", "amend", "fill", "cancel", "delete"];

    private readonly Meter _meter;
    private readonly Counter<long> _commands;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _commitDuration;
    private readonly Histogram<double> _ackLatency;
    private readonly Histogram<double> _stateFlushDuration;
    private readonly Histogram<int> _stateFlushRows;
    private readonly Counter<long> _stateFlushFailures;
    private readonly Histogram<double> _applyLag;
    private readonly Histogram<double> _applyDuration;
    private readonly Counter<long> _applyFailures;

    public EngineMetrics(IMeterFactory meterFactory, Func<int> queueDepth, Func<long> stateLag, Func<long>? applyBacklog = null,
        Func<long>? segmentPreparationFailures = null)
    {
        _meter = meterFactory.Create(EngineMetricsNames.Meter);
        _commands = _meter.CreateCounter<long>(EngineMetricsNames.Commands, "{command}", "Commands decided by the writer, by type and outcome.");
        _batchSize = _meter.CreateHistogram(EngineMetricsNames.BatchSize, "{command}", "Commands per committed batch.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] });
        _commitDuration = _meter.CreateHistogram(EngineMetricsNames.CommitDuration, "s", "Time to append one batch to the journal log and make it durable (the group commit every acknowledgement waits for).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1] });
        _ackLatency = _meter.CreateHistogram(EngineMetricsNames.AckLatency, "s", "From submission to acknowledgement of one command.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 5] });
        _meter.CreateObservableGauge(EngineMetricsNames.QueueDepth, queueDepth, "{command}", "Commands waiting for the writer.");
        _stateFlushDuration = _meter.CreateHistogram(EngineMetricsNames.StateFlushDuration, "s", "Time to write the pending states into trade_state (one transaction).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5] });
        _stateFlushRows = _meter.CreateHistogram(EngineMetricsNames.StateFlushRows, "{trade}", "Trades written into trade_state per flush.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 10, 100, 1000, 5000, 10000, 20000, 50000, 100000] });
        _stateFlushFailures = _meter.CreateCounter<long>(EngineMetricsNames.StateFlushFailures, "{flush}", "Flushes of trade_state that failed (retried; nothing is lost).");
        _applyLag = _meter.CreateHistogram(EngineMetricsNames.ApplyLag, "s", "From the acknowledgement of a batch to the commit of its events into DuckDB's trade_events.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 5] });
        _applyDuration = _meter.CreateHistogram(EngineMetricsNames.ApplyDuration, "s", "Time of one DuckDB transaction applying journal-log events to trade_events.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5] });
        _applyFailures = _meter.CreateCounter<long>(EngineMetricsNames.ApplyFailures, "{transaction}", "DuckDB applies that failed (retried from memory; the journal log holds the events).");
        _meter.CreateObservableGauge(EngineMetricsNames.ApplyBacklog, applyBacklog ?? (() => 0L), "{event}", "Acknowledged events (durable in the journal log) that DuckDB does not hold yet.");
        _meter.CreateObservableGauge(EngineMetricsNames.StateFlushLag, stateLag, "{event}", "Journal events whose state trade_state does not hold yet (reads are exact regardless).");
        _meter.CreateObservableCounter(EngineMetricsNames.SegmentPreparationFailures, segmentPreparationFailures ?? (() => 0L), "{segment}",
            "Journal log segments that could not be prepared ahead (zeroed); the log then writes into a growing file, each fsync costing more (log event 2026).");
    }

    public void Command(TradeCommand command, string outcome) =>
        _commands.Add(1, new KeyValuePair<string, object?>("type", TypeNames[(int)command.EventType]), new KeyValuePair<string, object?>("outcome", outcome));

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

    public void StateFlushFailed() => _stateFlushFailures.Add(1);

    public void Applied(TimeSpan duration) => _applyDuration.Record(duration.TotalSeconds);

    public void ApplyLag(TimeSpan lag) => _applyLag.Record(lag.TotalSeconds);

    public void ApplyFailed() => _applyFailures.Add(1);

    public void Dispose() => _meter.Dispose();

    /// <summary>The outcome tag: <c>applied</c>, <c>replayed</c>, or the snake_case error kind.</summary>
    public static string Outcome(CommandResult result) => result.Error?.Kind switch
    {
        null => result.Replayed ? "replayed" : "applied",
        CommandErrorKind.Validation => "validation",
        CommandErrorKind.NotFound => "not_found",
        CommandErrorKind.AlreadyExists => "already_exists",
        CommandErrorKind.IdempotencyKeyReused => "idempotency_key_reused",
        CommandErrorKind.VersionConflict => "version_conflict",
        CommandErrorKind.InvalidTransition => "invalid_transition",
        CommandErrorKind.Busy => "busy",
        CommandErrorKind.Unavailable => "unavailable",
        CommandErrorKind.StorageFailure => "storage_failure",
        _ => "other",
    };
}
