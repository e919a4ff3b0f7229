using System.Diagnostics;
using FASTER.core;
using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;

namespace TradeStore.Bench;

/// <summary>
/// <c>tradestore-bench log</c>: the measurement behind the journal log's choice (issue #12). Both candidates are used
/// the way the engine's single writer uses a log: append a group of encoded events, then make the group durable, and
/// only then acknowledge. Measured for a group of 1 (one sequential client: the latency of one durable append) and for
/// larger groups (throughput under group commit). Candidates: TradeStore's own segment log (<see cref="JournalLog"/>,
/// one write + fdatasync per group) and Microsoft.FASTER.Core's <c>FasterLog</c> (enqueue each entry, then
/// <c>Commit(spinWait: true)</c>, its default device on this OS).
/// </summary>
public static class LogBenchmark
{
    public static async Task RunAsync(TimeSpan duration, IReadOnlyList<int> groups, TextWriter output, CancellationToken cancellationToken)
    {
        var payload = EventCodec.Encode(SampleEvent());
        output.WriteLine(FormattableString.Invariant($"log: {payload.Length}-byte events (one encoded trade create), {duration.TotalSeconds:0} s per run, load average {LoadAverage()}"));
        foreach (var group in groups)
        {
            using (var directory = new BenchDirectory())
            {
                Report(output, "segment log (fdatasync)", group, RunSegmentLog(directory.Path, payload, group, duration, DurabilityMode.Fsync));
            }

            using (var directory = new BenchDirectory())
            {
                Report(output, "FasterLog (Commit)", group, RunFasterLog(directory.Path, payload, group, duration));
            }

            cancellationToken.ThrowIfCancellationRequested();
        }

        await Task.CompletedTask;
    }

    private static (long Events, double Seconds, LatencySummary Latency) RunSegmentLog(string directory, byte[] payload, int group, TimeSpan duration, DurabilityMode durability)
    {
        using var log = JournalLog.Open(Path.Combine(directory, "journal"), new JournalLogOptions { Durability = durability });
        log.Begin(1);
        var latency = new LatencyRecorder();
        var seq = 0L;
        var records = new LogRecord[group];
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < duration)
        {
            var appendStarted = Stopwatch.GetTimestamp();
            for (var i = 0; i < group; i++)
            {
                records[i] = LogRecord.Create(++seq, 0, payload);
            }

            log.Append(records);
            latency.RecordSince(appendStarted);
        }

        return (seq, Stopwatch.GetElapsedTime(started).TotalSeconds, latency.Summarize());
    }

    private static (long Events, double Seconds, LatencySummary Latency) RunFasterLog(string directory, byte[] payload, int group, TimeSpan duration)
    {
        using var device = Devices.CreateLogDevice(Path.Combine(directory, "faster.log"));
        using var log = new FasterLog(new FasterLogSettings { LogDevice = device, LogCommitDir = Path.Combine(directory, "commits") });
        var latency = new LatencyRecorder();
        var events = 0L;
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < duration)
        {
            var appendStarted = Stopwatch.GetTimestamp();
            for (var i = 0; i < group; i++)
            {
                log.Enqueue(payload);
            }

            log.Commit(spinWait: true);
            events += group;
            latency.RecordSince(appendStarted);
        }

        return (events, Stopwatch.GetElapsedTime(started).TotalSeconds, latency.Summarize());
    }

    private static void Report(TextWriter output, string name, int group, (long Events, double Seconds, LatencySummary Latency) run) =>
        output.WriteLine(FormattableString.Invariant(
            $"log: {name,-24} group {group,5}: {run.Events / run.Seconds,12:N0} events/s, durable append of a group {run.Latency}"));

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    private static TradeEvent SampleEvent()
    {
        var now = DateTimeOffset.UtcNow;
        var state = new Trade("BENCH-000001", "ACC001", "SYM042", Side.Buy, 1_000_000m, 101.25m, 0m, 0m, TradeStatus.New, "XNAS", "bench", now, 1, 1, now, now);
        return new TradeEvent(1, TradeEventType.Create, state, null, null, now, null);
    }
}
