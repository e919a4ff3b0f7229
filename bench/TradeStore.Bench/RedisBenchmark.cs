using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using TradeStore.Core.Options;
using TradeStore.Redis;
using TradeStore.Redis.Projection;
using TradeStore.Storage.Journal;
using TradeStore.Storage;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Bench;

/// <summary>What <c>tradestore-bench redis</c> runs.</summary>
/// <param name="Warmup">First part of the run whose projections are not measured (default 3 s).</param>
public sealed record RedisBenchmarkOptions(string Connection, int Rate = 10_000, TimeSpan? Duration = null, string Workload = "mixed", int MaxBatchSize = 1000,
    TimeSpan? Warmup = null);

/// <summary>The figures of one run.</summary>
public sealed record RedisBenchmarkResult(int OfferedRate, double Seconds, long Acknowledged, double TradesPerSecond, long EventsProjected, LatencySummary ProjectionDelay, LatencySummary AckLatency, double CatchUpSeconds);

/// <summary>
/// Projection lag of the Redis projector under a sustained open-loop write rate: the real engine on a fresh
/// temporary database, the real projector on the given Redis under a throw-away key prefix (deleted afterwards).
/// The delay of each event runs from its <c>recordedAt</c> (stamped by the writer before its commit) to the moment
/// its batch's script returned from Redis, so it includes the log's fsync, the hand-off to the projector and the Redis
/// round trip. Projections in the first <see cref="RedisBenchmarkOptions.Warmup"/> are not measured: the first batches
/// run on code the JIT has not optimised yet and took 40-117 ms each (2026-12-01), which is start-up, not lag.
/// </summary>
public static class RedisBenchmark
{
    public static async Task<RedisBenchmarkResult> RunAsync(RedisBenchmarkOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        var duration = options.Duration ?? TimeSpan.FromSeconds(30);
        var warmup = options.Warmup ?? TimeSpan.FromSeconds(3);
        if (warmup >= duration)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"The warm-up ({warmup.TotalSeconds:0.#} s) must be shorter than the run ({duration.TotalSeconds:0.#} s).");
        }
        var prefix = $"bench:{Guid.NewGuid():N}:";
        output.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}");
        output.WriteLine($"redis projection: {options.Workload} workload, open loop at {options.Rate}/s for {duration.TotalSeconds:0} s (first {warmup.TotalSeconds:0.#} s not measured), Redis {options.Connection}, prefix {prefix}");

        using var directory = new BenchDirectory();
        using var database = DuckDbDatabase.Open(Path.Combine(directory.Path, "redis-bench.duckdb"));
        DuckDbSchema.MigrateToLatest(database);
        var redisOptions = Options.Create(new RedisOptions { Connection = options.Connection, KeyPrefix = prefix, MaxBatchSize = options.MaxBatchSize });
        await using var connection = RedisConnection.Create(redisOptions.Value);
        using var meters = new TestMeters();
        var published = new PublishedJournal(database);
        using var projector = new RedisProjector(connection, database, published, redisOptions, new RedisMetrics(meters.Factory), NullLogger<RedisProjector>.Instance);
        var engine = new WriteEngine(database, new StateIndex(), new EngineOptions { MaxBatchSize = 1000 }, meters.Factory, [projector]) { Published = published };

        var delay = new LatencyRecorder();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == RedisMetrics.MeterName && instrument.Name == RedisMetrics.DelayInstrument)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        var measureFrom = long.MaxValue;
        listener.SetMeasurementEventCallback<double>((_, seconds, _, _) =>
        {
            if (Stopwatch.GetTimestamp() >= Volatile.Read(ref measureFrom))
            {
                delay.Record(TimeSpan.FromSeconds(seconds));
            }
        });
        listener.Start();

        engine.Start();
        await projector.StartAsync(cancellationToken);
        try
        {
            var ack = new LatencyRecorder();
            var schedule = new OpenLoopSchedule(options.Rate, duration);
            Volatile.Write(ref measureFrom, Stopwatch.GetTimestamp() + (long)(warmup.TotalSeconds * Stopwatch.Frequency));
            var (seconds, acknowledged, _) = await EngineBenchmark.OpenLoopAsync(engine, new Workload(options.Workload), schedule, ack, cancellationToken);
            var drained = Stopwatch.GetTimestamp();
            var redis = await connection.GetDatabaseAsync();
            var target = engine.LastSeq.ToString(CultureInfo.InvariantCulture);
            while ((string?)await redis.StringGetAsync(projector.Keys.Checkpoint) != target && Stopwatch.GetElapsedTime(drained) < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(5, cancellationToken);
            }

            var catchUp = Stopwatch.GetElapsedTime(drained).TotalSeconds;
            var result = new RedisBenchmarkResult(options.Rate, seconds, acknowledged, acknowledged / seconds, delay.Count, delay.Summarize(), ack.Summarize(), catchUp);
            output.WriteLine(FormattableString.Invariant($"engine: {acknowledged:N0} acknowledged in {seconds:0.0} s = {result.TradesPerSecond:N0} trades/s; ack latency {result.AckLatency}"));
            output.WriteLine(FormattableString.Invariant($"redis projection delay (recordedAt -> visible in Redis), {delay.Count:N0} events: {result.ProjectionDelay}"));
            output.WriteLine(FormattableString.Invariant($"redis caught up {catchUp * 1000:0} ms after the last acknowledgement"));
            output.WriteLine(schedule.Describe());
            return result;
        }
        finally
        {
            await projector.StopAsync(CancellationToken.None);
            await engine.DisposeAsync();
            await DeletePrefixAsync(connection, prefix);
        }
    }

    internal static async Task DeletePrefixAsync(RedisConnection connection, string prefix)
    {
        var redis = await connection.GetDatabaseAsync();
        var cursor = "0";
        do
        {
            var page = (RedisResult[])(await redis.ExecuteAsync("SCAN", cursor, "MATCH", prefix + "*", "COUNT", 1000))!;
            cursor = (string)page[0]!;
            var keys = ((RedisResult[])page[1]!).Select(k => (RedisKey)(string)k!).ToArray();
            if (keys.Length > 0)
            {
                await redis.KeyDeleteAsync(keys);
            }
        }
        while (cursor != "0");
    }
}
