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

    public EngineMetrics(Func<int> queueDepth, IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(EngineMetricsNames.Meter) ?? new Meter(EngineMetricsNames.Meter);
        _commands = _meter.CreateCounter<long>(EngineMetricsNames.Commands, "{command}", "Commands decided by the writer, by type and outcome.");
        _batchSize = _meter.CreateHistogram(EngineMetricsNames.BatchSize, "{command}", "Commands per committed batch.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] });
        _commitDuration = _meter.CreateHistogram(EngineMetricsNames.CommitDuration, "s", "Time to append, upsert and commit one batch.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1] });
        _ackLatency = _meter.CreateHistogram(EngineMetricsNames.AckLatency, "s", "From submission to acknowledgement of one command.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 5] });
        _meter.CreateObservableGauge(EngineMetricsNames.QueueDepth, queueDepth, "{command}", "Commands waiting for the writer.");
    }

    public void Command(TradeCommand command, string outcome) =>
        _commands.Add(1, new KeyValuePair<string, object?>("type", TypeNames[(int)command.EventType]), new KeyValuePair<string, object?>("outcome", outcome));

    public void Batch(int size, TimeSpan commitDuration)
    {
        _batchSize.Record(size);
        _commitDuration.Record(commitDuration.TotalSeconds);
    }

    public void Acknowledged(TimeSpan latency) => _ackLatency.Record(latency.TotalSeconds);

    public void Dispose() => _meter.Dispose();

    /// <summary>The outcome tag: <c>applied</c>, <c>replayed</c>, or the snake_case error kind.</summary>
    public static string Outcome(CommandResult result) => result.Error?.Kind switch
    {
        null => result.Replayed ? "replayed" : "applied",
        CommandErrorKind.Validation => "validation",
        CommandErrorKind.NotFound => "not_found",
        CommandErrorKind.AlreadyExists => "already_exists",
        CommandErrorKind.VersionConflict => "version_conflict",
        CommandErrorKind.InvalidTransition => "invalid_transition",
        CommandErrorKind.Busy => "busy",
        CommandErrorKind.Unavailable => "unavailable",
        CommandErrorKind.StorageFailure => "storage_failure",
        _ => "other",
    };
}
