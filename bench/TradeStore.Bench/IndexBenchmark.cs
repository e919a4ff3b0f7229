using System.Diagnostics;
using System.Globalization;
using TradeStore.Storage;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Migrations;

namespace TradeStore.Bench;

/// <summary>The figures of <c>tradestore-bench index</c>.</summary>
public sealed record IndexBenchmarkResult(int Trades, double LoadSeconds, double ManagedMegabytes, double BytesPerTrade, string Machine);

/// <summary>
/// Start-up cost of the state index: fills a fresh database with N trades (set-based SQL, each with one journal
/// row carrying an idempotency key), then times <see cref="StateIndex"/> loading and measures the managed memory it holds.
/// </summary>
public static class IndexBenchmark
{
    public static IndexBenchmarkResult Run(int trades, TextWriter output)
    {
        using var directory = new BenchDirectory();
        using var database = DuckDbDatabase.Open(Path.Combine(directory.Path, "index.duckdb"));
        DuckDbSchema.MigrateToLatest(database);
        var filling = Stopwatch.StartNew();
        using (var connection = database.OpenConnection())
        using (var command = connection.CreateCommand())
        {
            var n = trades.ToString(CultureInfo.InvariantCulture);
            command.CommandText = $"""
                INSERT INTO trade_state
                SELECT 'W' || i, 2, i, 'ACC' || lpad((i % 50)::VARCHAR, 3, '0'), 'SYM' || lpad((i % 200)::VARCHAR, 3, '0'),
                       CASE WHEN i % 2 = 0 THEN 'buy' ELSE 'sell' END, 1000, 100.25, 10, 1002.5,
                       'partially_filled', 'XNAS', 'bench', TIMESTAMP '2026-01-01' + to_microseconds(i), now()::TIMESTAMP, now()::TIMESTAMP
                FROM range(1, {n} + 1) t(i);
                INSERT INTO trade_events
                SELECT i, 'W' || i, 1, 'create', 'ACC' || lpad((i % 50)::VARCHAR, 3, '0'), 'SYM' || lpad((i % 200)::VARCHAR, 3, '0'),
                       CASE WHEN i % 2 = 0 THEN 'buy' ELSE 'sell' END, 1000, 100.25, 0, 0, NULL, NULL, 'new', 'XNAS', 'bench',
                       TIMESTAMP '2026-01-01' + to_microseconds(i), now()::TIMESTAMP, now()::TIMESTAMP, 'key-' || i
                FROM range(1, {n} + 1) t(i);
                UPDATE sync_checkpoints SET last_seq = {n} WHERE sink = 'trade_state';
                """;
            command.ExecuteNonQuery();
        }

        database.Checkpoint();
        output.WriteLine(FormattableString.Invariant($"index: {trades:N0} trades written in {filling.Elapsed.TotalSeconds:0.0} s"));

        var before = GC.GetTotalMemory(forceFullCollection: true);
        var index = new StateIndex();
        var loading = Stopwatch.StartNew();
        var engine = new WriteEngine(database, index, new Core.Options.EngineOptions());
        engine.Start();
        loading.Stop();
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(index);
        engine.StopAsync().GetAwaiter().GetResult();

        var megabytes = (after - before) / 1024.0 / 1024.0;
        var result = new IndexBenchmarkResult(trades, loading.Elapsed.TotalSeconds, megabytes, (after - before) / (double)trades, EngineBenchmark.MachineDescription());
        output.WriteLine(FormattableString.Invariant($"index: loaded {index.Count:N0} trades and {index.IdempotencyKeyCount:N0} idempotency keys in {result.LoadSeconds:0.00} s; managed memory {megabytes:N0} MiB ({result.BytesPerTrade:N0} bytes per trade)"));
        return result;
    }
}
