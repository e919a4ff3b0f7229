using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DuckDB.NET.Data;
using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Storage;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Bench;

/// <summary>What <c>tradestore-bench engine</c> runs.</summary>
public sealed record EngineBenchmarkOptions(
    string Workload = "insert",
    TimeSpan? Duration = null,
    int? Rate = null,
    int Concurrency = 4096,
    int MaxBatchSize = 4000,
    int QueueCapacity = 100_000,
    TimeSpan? BaselineDuration = null,
    string? JsonFile = null,
    int Preload = 0,
    TimeSpan? StateFlushInterval = null,
    DurabilityMode Durability = DurabilityMode.Fsync,
    TimeSpan? ApplyInterval = null);

/// <summary>The figures of one run; also written as JSON with <c>--json</c>.</summary>
public sealed record EngineBenchmarkResult(
    string Workload,
    string Mode,
    int? OfferedRate,
    int Concurrency,
    int MaxBatchSize,
    double Seconds,
    long Acknowledged,
    long Refused,
    double TradesPerSecond,
    LatencySummary AckLatency,
    double MeanBatchSize,
    double MeanCommitMs,
    LatencySummary PointRead,
    double BaselineTradesPerSecond,
    double Ratio,
    string Machine)
{
    /// <summary>Trades already stored when the measured run began.</summary>
    public int Preloaded { get; init; }

    /// <summary>Storage:Durability of the run (<c>fsync</c> or <c>os</c>).</summary>
    public string Durability { get; init; } = "fsync";

    /// <summary>From the acknowledgement of a batch to the commit of its events into DuckDB's <c>trade_events</c>.</summary>
    public LatencySummary? ApplyLag { get; init; }

    /// <summary>Mean events per DuckDB apply transaction (many engine batches each).</summary>
    public double MeanApplyBatch { get; init; }

    /// <summary>
    /// Events DuckDB took in per second during the measured run: the rate a longer run sustains once the acknowledged
    /// events it trails by reach <c>Engine:MaxApplyBacklog</c> and the writer waits for it.
    /// </summary>
    public double AppliedPerSecond { get; init; }

    /// <summary>Acknowledged events DuckDB did not hold yet when the measured run ended.</summary>
    public long ApplyBacklogAtEnd { get; init; }
}

/// <summary>
/// Drives the in-process <see cref="WriteEngine"/> on a fresh temporary database, closed-loop with C submitters
/// or open-loop at a fixed rate (latency measured from each command's intended send time, which corrects
/// coordinated omission), then runs the one-transaction-per-trade baseline for comparison.
/// </summary>
public static class EngineBenchmark
{

    public static async Task<EngineBenchmarkResult> RunAsync(EngineBenchmarkOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        if (options.Workload is not ("insert" or "mixed"))
        {
            throw new ArgumentException($"Unknown workload '{options.Workload}'; use insert or mixed.", nameof(options));
        }

        var duration = options.Duration ?? TimeSpan.FromSeconds(10);
        var machine = MachineDescription();
        output.WriteLine($"machine: {machine}");
        var durability = options.Durability == DurabilityMode.Os ? "os" : "fsync";
        output.WriteLine($"engine: workload {options.Workload}, {(options.Rate is { } r ? $"open loop at {r}/s" : $"closed loop, {options.Concurrency} submitters")}, {duration.TotalSeconds:0} s, max batch {options.MaxBatchSize}, durability {durability}, state flush every {(options.StateFlushInterval ?? new EngineOptions().StateFlushInterval).TotalMilliseconds:0} ms, DuckDB apply every {(options.ApplyInterval ?? new EngineOptions().ApplyInterval).TotalMilliseconds:0} ms");

        using var directory = new BenchDirectory();
        using var database = DuckDbDatabase.Open(Path.Combine(directory.Path, "engine.duckdb"));
        DuckDbSchema.MigrateToLatest(database);
        using var log = JournalLog.Open(JournalLog.DirectoryFor(database.Path), new JournalLogOptions { Durability = options.Durability });
        var index = new StateIndex();
        var applied = new EventCounter();
        using var meters = new TestMeters();
        var engine = new WriteEngine(database, index, new EngineOptions { MaxBatchSize = options.MaxBatchSize, QueueCapacity = options.QueueCapacity, StateFlushInterval = options.StateFlushInterval ?? new EngineOptions().StateFlushInterval, ApplyInterval = options.ApplyInterval ?? new EngineOptions().ApplyInterval }, meters.Factory, [applied], log: log);
        engine.Start();
        var workload = new Workload(options.Workload);
        using var commits = new CommitListener();
        using var batches = new InstrumentListener(EngineMetricsNames.BatchSize);
        using var applyLag = new InstrumentListener(EngineMetricsNames.ApplyLag);
        // One measurement per DuckDB apply transaction; the commit observers get a transaction's events in chunks.
        using var applyTransactions = new InstrumentListener(EngineMetricsNames.ApplyDuration);
        try
        {
            // Mixed needs trades to amend; --preload sets the database size the measured run starts from.
            var preload = Math.Max(options.Preload, options.Workload == "mixed" ? MixedPreload : 0);
            if (preload > 0)
            {
                var preloading = Stopwatch.StartNew();
                await workload.PreloadAsync(engine, preload, cancellationToken);
                output.WriteLine(FormattableString.Invariant($"engine: preloaded {preload:N0} trades in {preloading.Elapsed.TotalSeconds:0.0} s"));
            }

            // The preload's DuckDB apply must not count in the measured run's lag.
            engine.WaitApplied(engine.LastSeq, TimeSpan.FromMinutes(5));
            batches.Reset();
            applied.Reset();
            applyTransactions.Reset();
            applyLag.Reset();
            commits.Reset();
            var latency = new LatencyRecorder();
            var appliedBefore = engine.AppliedSeq;
            var schedule = options.Rate is { } rate ? new OpenLoopSchedule(rate, duration) : null;
            var (seconds, acknowledged, refused) = schedule is not null
                ? await OpenLoopAsync(engine, workload, schedule, latency, cancellationToken)
                : await ClosedLoopAsync(engine, workload, options.Concurrency, duration, latency, cancellationToken);
            // Interrupted (Ctrl-C): no figures from a cut-short run; the finally below stops the engine, the using deletes the folder.
            cancellationToken.ThrowIfCancellationRequested();
            var throughput = acknowledged / seconds;
            var ack = latency.Summarize();
            var appliedAfter = engine.AppliedSeq;
            var backlog = engine.LastSeq - appliedAfter;
            var appliedPerSecond = (appliedAfter - appliedBefore) / seconds;
            engine.WaitApplied(engine.LastSeq, TimeSpan.FromMinutes(5));
            var lag = applyLag.Summarize();
            var meanApplyTransaction = applyTransactions.Count == 0 ? 0 : (double)applied.Events / applyTransactions.Count;
            output.WriteLine(FormattableString.Invariant($"engine: {acknowledged:N0} acknowledged ({refused:N0} refused) in {seconds:0.0} s = {throughput:N0} trades/s; mean batch {batches.Mean:0.0}, mean log append+{durability} {commits.MeanMilliseconds:0.000} ms"));
            output.WriteLine($"engine ack latency: {ack}");
            output.WriteLine(FormattableString.Invariant($"DuckDB apply lag (ack -> row in trade_events): {lag}; mean apply transaction {meanApplyTransaction:N0} events"));
            // By design printed beside the acknowledged rate: a short closed-loop run is a burst the apply backlog absorbs,
            // and a longer one settles at DuckDB's rate (40 s: 149,132 trades/s after 10 s runs of 218,000-238,000).
            output.WriteLine(FormattableString.Invariant($"DuckDB applied {appliedPerSecond:N0} events/s during the run; {backlog:N0} acknowledged events were not applied yet at its end (a run longer than Engine:MaxApplyBacklog allows settles at the applied rate)"));
            if (schedule is not null)
            {
                output.WriteLine(schedule.Describe());
            }

            var reads = PointReads(new TradeQueries(database, index), workload);
            output.WriteLine($"point read (in-process, index, {PointReadCount:N0} reads): {reads.ToMicroseconds()}");
            await engine.StopAsync(cancellationToken);

            var baseline = Baseline(directory.Path, options.BaselineDuration ?? TimeSpan.FromSeconds(3), cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            var ratio = baseline > 0 ? throughput / baseline : 0;
            output.WriteLine(FormattableString.Invariant($"baseline (one transaction per trade): {baseline:N0} trades/s; engine/baseline = {ratio:0.0}x"));

            var result = new EngineBenchmarkResult(options.Workload, options.Rate is null ? "closed" : "open", options.Rate, options.Concurrency, options.MaxBatchSize,
                seconds, acknowledged, refused, throughput, ack, batches.Mean, commits.MeanMilliseconds, reads, baseline, ratio, machine)
            {
                Preloaded = preload,
                Durability = durability,
                ApplyLag = lag,
                MeanApplyBatch = meanApplyTransaction,
                AppliedPerSecond = appliedPerSecond,
                ApplyBacklogAtEnd = backlog,
            };
            if (options.JsonFile is { } file)
            {
                await File.WriteAllTextAsync(file, JsonSerializer.Serialize(result, BenchJson.Options), cancellationToken);
            }

            return result;
        }
        finally
        {
            await engine.DisposeAsync();
        }
    }

    /// <summary>C submitters, each waiting for its acknowledgement before sending the next command.</summary>
    private static async Task<(double Seconds, long Acknowledged, long Refused)> ClosedLoopAsync(
        WriteEngine engine, Workload workload, int concurrency, TimeSpan duration, LatencyRecorder latency, CancellationToken cancellationToken)
    {
        long acknowledged = 0;
        long refused = 0;
        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var submitters = Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker);
            while (Stopwatch.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
            {
                var command = workload.Next(random);
                var sent = Stopwatch.GetTimestamp();
                var result = await engine.SubmitAsync(command, CancellationToken.None);
                latency.RecordSince(sent);
                if (result.Succeeded)
                {
                    Interlocked.Increment(ref acknowledged);
                    workload.Created(result, command);
                }
                else
                {
                    Interlocked.Increment(ref refused);
                    if (result.Error!.Kind == CommandErrorKind.Busy)
                    {
                        await Task.Yield();
                    }
                }
            }
        }, cancellationToken)).ToArray();
        await Task.WhenAll(submitters);
        return (Stopwatch.GetElapsedTime(started).TotalSeconds, acknowledged, refused);
    }

    /// <summary>Commands sent on a fixed schedule whatever the answers; latency counts from the scheduled time.</summary>
    internal static async Task<(double Seconds, long Acknowledged, long Refused)> OpenLoopAsync(
        WriteEngine engine, Workload workload, OpenLoopSchedule schedule, LatencyRecorder latency, CancellationToken cancellationToken)
    {
        long acknowledged = 0;
        long refused = 0;
        var random = new Random(1);
        var seconds = await schedule.RunAsync(scheduled =>
        {
            var command = workload.Next(random);
            return Track(engine.SubmitAsync(command, CancellationToken.None), command, scheduled);
        }, cancellationToken);
        return (seconds, acknowledged, refused);

        async Task Track(ValueTask<CommandResult> submitted, TradeCommand command, long intended)
        {
            var result = await submitted;
            latency.RecordSince(intended);
            if (result.Succeeded)
            {
                Interlocked.Increment(ref acknowledged);
                workload.Created(result, command);
            }
            else
            {
                Interlocked.Increment(ref refused);
            }
        }
    }

    private const int PointReadCount = 200_000;
    private const int MixedPreload = 20_000;

    private static LatencySummary PointReads(TradeQueries queries, Workload workload)
    {
        var ids = workload.SampleIds(PointReadCount / 200);
        var recorder = new LatencyRecorder();
        var found = 0;
        for (var round = 0; round < 200; round++)
        {
            foreach (var id in ids)
            {
                var started = Stopwatch.GetTimestamp();
                var trade = queries.GetTrade(id);
                recorder.Record(Stopwatch.GetElapsedTime(started));
                found += trade is null ? 0 : 1;
            }
        }

        return found == 0 ? new LatencySummary(0, 0, 0, 0) : recorder.Summarize();
    }

    /// <summary>
    /// The plain way the engine replaces: per trade, one DuckDB transaction with a parameterised INSERT into the
    /// journal and an upsert of the state row. Returns trades per second.
    /// </summary>
    public static double Baseline(string directory, TimeSpan duration, CancellationToken cancellationToken)
    {
        using var database = DuckDbDatabase.Open(Path.Combine(directory, "baseline.duckdb"));
        DuckDbSchema.MigrateToLatest(database);
        using var connection = database.OpenConnection();
        using var insert = connection.CreateCommand();
        insert.CommandText = """
            INSERT INTO trade_events VALUES ($seq, $id, 1, 'create', 'ACC', 'SYM', 'buy', 100, 10, 0, 0, NULL, NULL, 'new', NULL, NULL, $now, $now, $now, NULL)
            """;
        using var upsert = connection.CreateCommand();
        upsert.CommandText = """
            INSERT OR REPLACE INTO trade_state VALUES ($id, 1, $seq, 'ACC', 'SYM', 'buy', 100, 10, 0, 0, 'new', NULL, NULL, $now, $now, $now)
            """;
        var seq = 0L;
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < duration && !cancellationToken.IsCancellationRequested)
        {
            seq++;
            var id = "B" + seq.ToString(CultureInfo.InvariantCulture);
            var now = DateTime.UtcNow;
            using var transaction = connection.BeginTransaction();
            foreach (var command in new[] { insert, upsert })
            {
                command.Transaction = transaction;
                command.Parameters.Clear();
                command.Parameters.Add(new DuckDBParameter("seq", seq));
                command.Parameters.Add(new DuckDBParameter("id", id));
                command.Parameters.Add(new DuckDBParameter("now", now));
                command.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        return seq / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    public static string MachineDescription()
    {
        var cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
            // Not Linux: the runtime description below still says what ran.
        }

        return $"{Environment.ProcessorCount} cores, {cpu}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    }

    /// <summary>Counts the events DuckDB committed (the observers are told after each apply transaction).</summary>
    private sealed class EventCounter : ICommitObserver
    {
        private long _events;

        public long Events => Interlocked.Read(ref _events);

        public void OnCommitted(IReadOnlyList<TradeEvent> events) => Interlocked.Add(ref _events, events.Count);

        public void Reset() => Interlocked.Exchange(ref _events, 0);
    }
}
