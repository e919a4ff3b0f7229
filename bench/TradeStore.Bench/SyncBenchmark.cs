using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TradeStore.ClickHouse;
using TradeStore.ClickHouse.Migrations;
using TradeStore.ClickHouse.Rows;
using TradeStore.ClickHouse.Sync;
using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Storage;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Bench;

/// <summary>What <c>tradestore-bench sync</c> runs: the engine at <see cref="Rate"/> for <see cref="Duration"/>, synced into <see cref="ClickHouse"/>.</summary>
public sealed record SyncBenchmarkOptions(ClickHouseOptions ClickHouse, int Rate = 1_000, TimeSpan? Duration = null, string? JsonFile = null, bool Verbose = false);

/// <summary>The figures of one run; also written as JSON with <c>--json</c>.</summary>
public sealed record SyncBenchmarkResult(
    int OfferedRate,
    double Seconds,
    long Events,
    double EventsPerSecond,
    LatencySummary VisibleLag,
    LatencySummary DaemonLag,
    long Batches,
    double MeanBatchSize,
    long ClickHouseRows,
    long ClickHouseDistinctSeq,
    string ClickHouseVersion,
    string Machine);

/// <summary>
/// Drives the in-process WriteEngine open-loop at a fixed rate on a fresh temporary database while the real
/// <see cref="ClickHouseSyncService"/> streams it into a fresh ClickHouse database, and measures sync lag:
/// from each event's <c>recorded_at</c> until a poll of ClickHouse's <c>max(seq)</c> (every 5 ms) first sees it.
/// Also reports the daemon's own lag metric (until its INSERT returned) and checks nothing arrived twice.
/// </summary>
public static class SyncBenchmark
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);

    public static async Task<SyncBenchmarkResult> RunAsync(SyncBenchmarkOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        var duration = options.Duration ?? TimeSpan.FromSeconds(60);
        var clickHouse = CopyWithDatabase(options.ClickHouse, $"tradestore_bench_{Guid.NewGuid():N}");
        var machine = EngineBenchmark.MachineDescription();
        var client = ClickHouseClient.Create(clickHouse);
        var version = (await client.QueryAsync("SELECT version()", cancellationToken)).Trim();
        output.WriteLine($"machine: {machine}");
        output.WriteLine($"sync: open loop at {options.Rate}/s for {duration.TotalSeconds:0} s into ClickHouse {version} at {clickHouse.BaseUri} " +
                         $"(temporary database {clickHouse.Database}); flush interval {clickHouse.Sync.FlushInterval.TotalMilliseconds:0} ms, batch {clickHouse.Sync.BatchMin}-{clickHouse.Sync.BatchMax}");

        using var directory = new BenchDirectory();
        using var database = DuckDbDatabase.Open(Path.Combine(directory.Path, "sync.duckdb"));
        DuckDbSchema.MigrateToLatest(database);
        await ClickHouseSchema.MigrateToLatestAsync(client, clickHouse.Database, cancellationToken);
        var recorded = new RecordedTimes((long)(options.Rate * duration.TotalSeconds * 1.2) + 10_000);
        var signal = new SyncSignal();
        using var meters = new TestMeters();
        var engine = new WriteEngine(database, new StateIndex(), new EngineOptions(), meters.Factory, [signal, recorded]);
        var published = engine.Published;
        var daemonLag = new LatencyRecorder();
        long batches = 0, batchEvents = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ClickHouseMetrics.MeterName && instrument.Name is "tradestore.sync.lag" or "tradestore.sync.batch.size")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, seconds, _, _) => daemonLag.Record(TimeSpan.FromSeconds(seconds)));
        listener.SetMeasurementEventCallback<int>((_, size, _, _) =>
        {
            Interlocked.Increment(ref batches);
            Interlocked.Add(ref batchEvents, size);
        });
        listener.Start();

        var wrapped = Options.Create(clickHouse);
        var state = new ClickHouseSyncState(signal, wrapped, TimeProvider.System);
        var service = new ClickHouseSyncService(client, database, published, signal, state,
            new ClickHouseMetrics(state, meters.Factory), wrapped, Options.Create(new StorageOptions { AutoMigrate = false }), TimeProvider.System,
            options.Verbose ? new TextWriterLogger<ClickHouseSyncService>(output) : NullLogger<ClickHouseSyncService>.Instance);
        engine.Start();
        await service.StartAsync(cancellationToken);
        var visibleLag = new LatencyRecorder();
        using var stopProbe = new CancellationTokenSource();
        var probe = ProbeAsync(client, clickHouse.Database, recorded, visibleLag, stopProbe.Token);
        try
        {
            var (seconds, acknowledged, refused) = await EngineBenchmark.OpenLoopAsync(engine, new Workload("insert"), new OpenLoopSchedule(options.Rate, duration), new LatencyRecorder(), cancellationToken);
            var caughtUp = Stopwatch.StartNew();
            while (probe.IsCompleted is false && recorded.LastVisible < engine.LastSeq && caughtUp.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(20, cancellationToken);
            }

            await stopProbe.CancelAsync();
            await probe;
            await service.StopAsync(CancellationToken.None); // its last lag measurements are in before the summary
            listener.Dispose();
            var counts = (await client.QueryRowsAsync("SELECT count() AS rows, uniqExact(seq) AS distinct_seq FROM trade_events", cancellationToken, clickHouse.Database))[0];
            var rows = ClickHouseJson.Int64(counts, "rows");
            var distinct = ClickHouseJson.Int64(counts, "distinct_seq");
            var result = new SyncBenchmarkResult(options.Rate, seconds, engine.LastSeq, acknowledged / seconds, visibleLag.Summarize(), daemonLag.Summarize(),
                batches, batches == 0 ? 0 : (double)batchEvents / batches, rows, distinct, version, machine);
            output.WriteLine(FormattableString.Invariant($"sync: {acknowledged:N0} events acknowledged ({refused:N0} refused) in {seconds:0.0} s = {result.EventsPerSecond:N0}/s; {batches:N0} batches, mean {result.MeanBatchSize:0.0} events"));
            output.WriteLine($"sync lag, recorded_at -> visible in ClickHouse max(seq): {result.VisibleLag}");
            output.WriteLine($"sync lag, recorded_at -> INSERT returned (daemon metric): {result.DaemonLag}");
            output.WriteLine(FormattableString.Invariant($"ClickHouse rows {rows:N0}, distinct seq {distinct:N0}, journal {engine.LastSeq:N0}: {(rows == distinct && distinct == engine.LastSeq ? "every event exactly once" : "MISMATCH")}"));
            if (options.JsonFile is { } file)
            {
                await File.WriteAllTextAsync(file, JsonSerializer.Serialize(result, BenchJson.Options), cancellationToken);
            }

            return result;
        }
        finally
        {
            await stopProbe.CancelAsync();
            await service.StopAsync(CancellationToken.None);
            service.Dispose();
            await engine.DisposeAsync();
            try
            {
                // By design a generous limit: under heavy disk load ClickHouse 18.16 took 80 s to drop a benchmark database.
                var dropper = ClickHouseClient.Create(CopyWithDatabase(clickHouse, clickHouse.Database, TimeSpan.FromMinutes(3)));
                await dropper.ExecuteAsync($"DROP DATABASE IF EXISTS {clickHouse.Database}", CancellationToken.None);
            }
            catch (Exception ex) when (ex is ClickHouseException or HttpRequestException or TimeoutException)
            {
                output.WriteLine($"sync: could not drop the temporary database {clickHouse.Database}: {ex.Message}");
            }
        }
    }

    /// <summary>Polls <c>max(seq)</c>; every seq that became visible since the last poll gets its lag from its recorded time.</summary>
    private static async Task ProbeAsync(ClickHouseClient client, string database, RecordedTimes recorded, LatencyRecorder lag, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var rows = await client.QueryRowsAsync("SELECT max(seq) AS max_seq FROM trade_events", CancellationToken.None, database);
            var seenAt = DateTimeOffset.UtcNow.UtcTicks;
            var max = ClickHouseJson.Int64(rows[0], "max_seq");
            for (var seq = recorded.LastVisible + 1; seq <= max; seq++)
            {
                if (recorded.TicksOf(seq) is { } ticks)
                {
                    lag.Record(TimeSpan.FromTicks(Math.Max(0, seenAt - ticks)));
                }
            }

            recorded.LastVisible = Math.Max(recorded.LastVisible, max);
            try
            {
                await Task.Delay(PollInterval, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    internal static ClickHouseOptions CopyWithDatabase(ClickHouseOptions source, string database, TimeSpan? timeout = null) => new()
    {
        Url = source.Url,
        Database = database,
        User = source.User,
        Password = source.Password,
        Timeout = timeout ?? source.Timeout,
        HealthTimeout = source.HealthTimeout,
        Sync = source.Sync,
    };

    /// <summary>The recorded time of each committed seq, told by the engine after each commit.</summary>
    private sealed class RecordedTimes(long capacity) : ICommitObserver
    {
        private readonly long[] _ticks = new long[capacity];
        private long _lastVisible;

        public long LastVisible
        {
            get => Volatile.Read(ref _lastVisible);
            set => Volatile.Write(ref _lastVisible, value);
        }

        public long? TicksOf(long seq) => seq < _ticks.Length && Volatile.Read(ref _ticks[seq]) is var t and > 0 ? t : null;

        public void OnCommitted(IReadOnlyList<TradeEvent> events)
        {
            foreach (var e in events)
            {
                if (e.Seq < _ticks.Length)
                {
                    Volatile.Write(ref _ticks[e.Seq], e.RecordedAt.UtcTicks);
                }
            }
        }
    }
}
