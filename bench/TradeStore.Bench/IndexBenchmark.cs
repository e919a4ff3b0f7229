using System.Diagnostics;
using System.Globalization;
using TradeStore.Core.Trades;
using TradeStore.Storage;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Bench;

/// <summary>The figures of <c>tradestore-bench index</c>.</summary>
public sealed record IndexBenchmarkResult(
    int Trades,
    int Accounts,
    int Symbols,
    double LoadSeconds,
    double ManagedMegabytes,
    double BytesPerTrade,
    IReadOnlyDictionary<string, LatencySummary> Reads,
    int Positions,
    string Machine);

/// <summary>
/// Start-up cost, memory and in-process read latency of the state index: fills a fresh database with N trades
/// (set-based SQL, each with one journal row carrying an idempotency key in the form the server stores one sent over
/// HTTP, made by <see cref="IdempotencyKeys.Scope"/> from the row's create: caller, the create's fingerprint and the key;
/// until 2026-12-05 a bare key, which a server has not written since 2026-11-30) spread over A accounts and S symbols,
/// times <see cref="StateIndex"/> loading (what the engine's start-up does), measures the managed memory it holds with
/// every index, then times lists of 100 (per account, per account and symbol, per symbol and unscoped, each from a
/// random time so the walk starts with a seek), a page followed by its next page, all positions in one read, and every
/// page of a walk through all positions by cursor (pages of 100 and 1,000, as <c>GET /v1/positions</c> reads them).
/// </summary>
public static class IndexBenchmark
{
    private const int Samples = 20_000;

    public static IndexBenchmarkResult Run(int trades, TextWriter output, int accounts = 50, int symbols = 200, CancellationToken cancellationToken = default)
    {
        using var directory = new BenchDirectory();
        using var database = DuckDbDatabase.Open(Path.Combine(directory.Path, "index.duckdb"));
        DuckDbSchema.MigrateToLatest(database);
        var filling = Stopwatch.StartNew();
        using (var connection = database.OpenConnection())
        using (var command = connection.CreateCommand())
        {
            var n = trades.ToString(CultureInfo.InvariantCulture);
            // Accounts in turn, symbols spread by a hash: every account trades many symbols, as a book does.
            var account = $"'ACC' || lpad((i % {accounts.ToString(CultureInfo.InvariantCulture)})::VARCHAR, 5, '0')";
            var symbol = $"'SYM' || lpad((hash(i) % {symbols.ToString(CultureInfo.InvariantCulture)})::VARCHAR, 4, '0')";
            command.CommandText = $"""
                INSERT INTO trade_state
                SELECT 'W' || i, 2, i, {account}, {symbol},
                       CASE WHEN i % 2 = 0 THEN 'buy' ELSE 'sell' END, 1000, 100.25, 10, 1002.5,
                       'partially_filled', 'XNAS', 'bench', TIMESTAMP '2026-01-01' + to_microseconds(i), now()::TIMESTAMP, now()::TIMESTAMP
                FROM range(1, {n} + 1) t(i);
                CREATE TEMP TABLE {KeysTable} (seq BIGINT, idempotency_key VARCHAR);
                """;
            command.ExecuteNonQuery();
            AppendKeys(connection);
            command.CommandText = $"""
                INSERT INTO trade_events
                SELECT i, 'W' || i, 1, 'create', {account}, {symbol},
                       CASE WHEN i % 2 = 0 THEN 'buy' ELSE 'sell' END, 1000, 100.25, 0, 0, NULL, NULL, 'new', 'XNAS', 'bench',
                       TIMESTAMP '2026-01-01' + to_microseconds(i), now()::TIMESTAMP, now()::TIMESTAMP, k.idempotency_key
                FROM range(1, {n} + 1) t(i) JOIN {KeysTable} k ON k.seq = t.i;
                DROP TABLE {KeysTable};
                UPDATE sync_checkpoints SET last_seq = {n} WHERE sink = 'trade_state';
                """;
            command.ExecuteNonQuery();
        }

        database.Checkpoint();
        output.WriteLine(FormattableString.Invariant($"index: {trades:N0} trades in {accounts:N0} accounts and {symbols:N0} symbols written in {filling.Elapsed.TotalSeconds:0.0} s"));

        cancellationToken.ThrowIfCancellationRequested();
        using var meters = new TestMeters();
        var loading = new Stopwatch();
        WriteEngine engine = null!;
        var held = HeldMemory.Of(() =>
        {
            var loaded = new StateIndex();
            loading.Start();
            engine = new WriteEngine(database, loaded, new Core.Options.EngineOptions(), meters.Factory);
            engine.Start();
            loading.Stop();
            return loaded;
        }, out var index);
        engine.StopAsync().GetAwaiter().GetResult();

        var megabytes = held / 1024.0 / 1024.0;
        output.WriteLine(FormattableString.Invariant($"index: loaded {index.Count:N0} trades and {index.IdempotencyKeyCount:N0} idempotency keys in {loading.Elapsed.TotalSeconds:0.00} s; managed memory with every index {megabytes:N0} MiB ({held / (double)trades:N0} bytes per trade)"));

        cancellationToken.ThrowIfCancellationRequested();
        var (reads, positions) = MeasureReads(new TradeQueries(database, index), trades, accounts, symbols, output, cancellationToken);
        return new IndexBenchmarkResult(trades, accounts, symbols, loading.Elapsed.TotalSeconds, megabytes, held / (double)trades, reads, positions, EngineBenchmark.MachineDescription());
    }

    private const string KeysTable = "bench_keys";

    /// <summary>
    /// Each trade's idempotency key, as a server stores the key <c>key-{i}</c> of the create that made trade i for a
    /// caller without an API key (<see cref="IdempotencyKeys.Scope"/>), into the temporary table the journal rows take it from.
    /// </summary>
    private static void AppendKeys(DuckDB.NET.Data.DuckDBConnection connection)
    {
        using var read = connection.CreateCommand();
        read.CommandText = "SELECT last_seq, trade_id, account, symbol, side, quantity, price, venue, trader, executed_at FROM trade_state ORDER BY last_seq";
        using var rows = read.ExecuteReader();
        using var keys = connection.CreateAppender("temp", "main", KeysTable);
        while (rows.Read())
        {
            var seq = rows.GetInt64(0);
            var create = new CreateTrade(rows.GetString(1), rows.GetString(2), rows.GetString(3), rows.GetString(4) == "buy" ? Side.Buy : Side.Sell,
                rows.GetDecimal(5), rows.GetDecimal(6), rows.GetString(7), rows.GetString(8),
                new DateTimeOffset(DateTime.SpecifyKind(rows.GetDateTime(9), DateTimeKind.Utc)), "key-" + seq.ToString(CultureInfo.InvariantCulture));
            keys.CreateRow().AppendValue(seq).AppendValue(IdempotencyKeys.Scope(IdempotencyKeys.Anonymous, create)).EndRow();
        }
    }

    private static (Dictionary<string, LatencySummary> Reads, int Positions) MeasureReads(TradeQueries queries, int trades, int accounts, int symbols, TextWriter output,
        CancellationToken cancellationToken)
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var random = new Random(5);
        string Account() => "ACC" + random.Next(accounts).ToString("D5", CultureInfo.InvariantCulture);
        string Symbol() => "SYM" + random.Next(symbols).ToString("D4", CultureInfo.InvariantCulture);
        // A random `from` inside the book's time range: the walk seeks into the middle of the index.
        DateTimeOffset From() => start.AddTicks(random.NextInt64(trades) * 10);

        var shapes = new (string Name, Func<TradeFilter> Filter)[]
        {
            ("list 100 by account", () => new TradeFilter(Account(), From: From())),
            ("list 100 by account+symbol", () => new TradeFilter(Account(), Symbol(), From: From())),
            ("list 100 by symbol", () => new TradeFilter(Symbol: Symbol(), From: From())),
            ("list 100 unscoped", () => new TradeFilter(From: From())),
            ("list 100 by account, status filter", () => new TradeFilter(Account(), Status: TradeStatus.PartiallyFilled, From: From())),
        };
        var reads = new Dictionary<string, LatencySummary>(StringComparer.Ordinal);
        foreach (var (name, filter) in shapes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var latency = new LatencyRecorder();
            var returned = 0L;
            for (var i = 0; i < Samples; i++)
            {
                var query = filter();
                var started = Stopwatch.GetTimestamp();
                returned += queries.ListTrades(query).Trades.Count;
                latency.RecordSince(started);
            }

            reads[name] = latency.Summarize();
            output.WriteLine(FormattableString.Invariant($"index: {name}: {reads[name].ToMicroseconds()} ({Samples:N0} lists, {returned / (double)Samples:0.0} trades each)"));
        }

        // A page of 10, then the next 100 through its cursor: the keyset seek. The next page keeps the first page's
        // filters, as a client must (the cursor's checksum covers them).
        var paging = new LatencyRecorder();
        for (var i = 0; i < Samples / 2; i++)
        {
            var firstFilter = new TradeFilter(Account(), From: From(), Limit: 10);
            var first = queries.ListTrades(firstFilter);
            if (first.NextCursor is { } cursor)
            {
                var next = firstFilter with { Limit = 100, Cursor = cursor };
                var started = Stopwatch.GetTimestamp();
                queries.ListTrades(next);
                paging.RecordSince(started);
            }
        }

        if (paging.Count > 0)
        {
            reads["next page of 100 by account (cursor)"] = paging.Summarize();
            output.WriteLine(FormattableString.Invariant($"index: next page of 100 by account (cursor): {paging.Summarize().ToMicroseconds()} ({paging.Count:N0} pages)"));
        }
        else
        {
            output.WriteLine("index: next page of 100 by account (cursor): not measured, no account holds more than 10 trades from a random start");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var all = new LatencyRecorder();
        var positions = 0;
        for (var i = 0; i < 50; i++)
        {
            var started = Stopwatch.GetTimestamp();
            positions = queries.GetPositionsAtOneSeq(null, out _).Count; // what GET /v1/positions ran before it was paged
            all.RecordSince(started);
        }

        reads["positions, every account"] = all.Summarize();
        output.WriteLine(FormattableString.Invariant($"index: positions of every account ({positions:N0} positions): {all.Summarize()}"));

        // What GET /v1/positions without an account runs now: every page of a walk through the book by its cursors.
        foreach (var limit in new[] { 100, 1000 })
        {
            cancellationToken.ThrowIfCancellationRequested();
            var pages = new LatencyRecorder();
            var walked = 0;
            for (var walk = 0; walk < 3; walk++)
            {
                walked = 0;
                string? cursor = null;
                do
                {
                    var started = Stopwatch.GetTimestamp();
                    var page = queries.GetPositions(new PositionFilter(Limit: limit, Cursor: cursor));
                    pages.RecordSince(started);
                    walked += page.Positions.Count;
                    cursor = page.NextCursor;
                }
                while (cursor is not null);
            }

            reads[FormattableString.Invariant($"positions, page of {limit}, every account")] = pages.Summarize();
            output.WriteLine(FormattableString.Invariant($"index: positions of every account, page of {limit} by cursor: {pages.Summarize().ToMicroseconds()} ({pages.Count:N0} pages, {walked:N0} positions a walk)"));
        }

        return (reads, positions);
    }
}
