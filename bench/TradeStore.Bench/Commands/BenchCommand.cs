using System.CommandLine;
using TradeStore.Cli;
using TradeStore.Cli.Commands;
using TradeStore.Core.Options;

namespace TradeStore.Bench.Commands;

/// <summary>
/// <c>tradestore-bench</c>: measurements on fresh temporary databases, never on the configured one.
/// One subcommand per subsystem; add new ones in <see cref="CreateRoot"/>.
/// </summary>
public static class BenchCommand
{
    /// <remarks>
    /// By design without <c>--data</c>: every benchmark runs on a fresh temporary database and never opens the configured
    /// one, so the option (listed on every subcommand, "Default ./data") promised something no benchmark did.
    /// </remarks>
    public static RootCommand CreateRoot() => new("tradestore-bench: run a benchmark on a fresh temporary database and print the figures. " +
        "Ships apart from the tradestore command; run it with `dotnet run --project bench/TradeStore.Bench -c Release -- <command>`.")
    {
        CommonOptions.Config,
        Engine(),
        Log(),
        Index(),
        Http(),
        All(),
        Sync(),
        RedisBenchCommand.Create(),
        Changes(),
        FailoverBenchCommand.Create(),
        ClientBenchCommand.Create(),
        Alloc(),
    };

    private static Command Alloc()
    {
        var workload = new Option<string[]>("--workload")
        {
            Description = "read: GET /v1/trades/{id}; list: GET /v1/trades?account=…&limit=100; insert: POST /v1/trades. Repeat the option for several; default all three.",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => AllocationBenchmark.AllWorkloads,
        };
        workload.AcceptOnlyFromAmong(AllocationBenchmark.AllWorkloads);
        var requests = new Option<int>("--requests") { Description = "Requests counted per workload.", DefaultValueFactory = _ => 20_000, HelpName = "N" };
        var warmup = new Option<int>("--warmup") { Description = "Requests sent first, not counted (the JIT compiles the hot paths meanwhile).", DefaultValueFactory = _ => 5_000, HelpName = "N" };
        var concurrency = new Option<int>("--concurrency") { Description = "Connections, each waiting for its answer.", DefaultValueFactory = _ => 4, HelpName = "C" };
        var seed = new Option<int>("--seed-trades") { Description = "Trades created first (in 50 accounts x 20 symbols) for the reads and lists.", DefaultValueFactory = _ => 20_000, HelpName = "N" };
        var top = new Option<int>("--top") { Description = "Types listed per workload.", DefaultValueFactory = _ => 12, HelpName = "K" };
        var json = new Option<string?>("--json") { Description = "Also write the figures as JSON to FILE.", HelpName = "FILE" };
        OptionRules.WritableFile(json);
        OptionRules.AtLeast(1, requests, concurrency, seed, top);
        OptionRules.AtLeast(0, warmup);
        var command = new Command("alloc", "Bytes the server allocates per request (read, list, insert) and the types that take most of them, against a child serve on a fresh database.")
        {
            workload, requests, warmup, concurrency, seed, top, json,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            await AllocationBenchmark.RunAsync(new AllocationBenchmarkOptions(
                parseResult.GetValue(workload)!, parseResult.GetValue(requests), parseResult.GetValue(warmup), parseResult.GetValue(concurrency),
                parseResult.GetValue(seed), parseResult.GetValue(top), parseResult.GetValue(json)), parseResult.InvocationConfiguration.Output, cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Changes()
    {
        var rate = new Option<int>("--rate") { Description = "Trades written per second during the delivery measurement (open loop).", DefaultValueFactory = _ => 10_000, HelpName = "N" };
        var subscribers = new Option<int>("--subscribers") { Description = "GET /v1/changes streams following the writes.", DefaultValueFactory = _ => 10, HelpName = "N" };
        var duration = new Option<int>("--duration") { Description = "Seconds of the delivery measurement.", DefaultValueFactory = _ => 20, HelpName = "S" };
        var warmup = new Option<int>("--warmup") { Description = "First seconds of it not measured.", DefaultValueFactory = _ => 3, HelpName = "S" };
        var throughput = new Option<int>("--throughput-duration") { Description = "Seconds of each closed-loop throughput run (without, then with subscribers).", DefaultValueFactory = _ => 10, HelpName = "S" };
        var throughputWarmup = new Option<int>("--throughput-warmup")
        {
            Description = "Seconds each fresh server is written to before its throughput run is measured (until its JIT has compiled the hot paths).",
            DefaultValueFactory = _ => 8,
            HelpName = "S",
        };
        var concurrency = new Option<int>("--concurrency") { Description = "Closed loop: concurrent batch posters.", DefaultValueFactory = _ => 8, HelpName = "C" };
        var batch = new Option<int>("--batch") { Description = "Trades per POST /v1/trades/batch in the closed loop.", DefaultValueFactory = _ => 250, HelpName = "B" };
        var json = new Option<string?>("--json") { Description = "Also write the figures as JSON to FILE.", HelpName = "FILE" };
        OptionRules.WritableFile(json);
        OptionRules.AtLeast(1, rate, subscribers, duration, throughput, throughputWarmup, concurrency, batch);
        OptionRules.AtLeast(0, warmup);
        var command = new Command("changes", "Change-feed delivery latency (recordedAt → subscriber) at a write rate with N subscribers, and write throughput with N subscribers versus none, against a child serve.")
        {
            rate, subscribers, duration, warmup, throughput, throughputWarmup, concurrency, batch, json,
        };
        command.SetAction(async (parseResult, cancellationToken) => await ChangeFeedBenchmark.RunAsync(
            new ChangeFeedBenchmarkOptions(
                parseResult.GetValue(rate),
                parseResult.GetValue(subscribers),
                TimeSpan.FromSeconds(parseResult.GetValue(duration)),
                TimeSpan.FromSeconds(parseResult.GetValue(warmup)),
                TimeSpan.FromSeconds(parseResult.GetValue(throughput)),
                TimeSpan.FromSeconds(parseResult.GetValue(throughputWarmup)),
                parseResult.GetValue(concurrency),
                parseResult.GetValue(batch),
                parseResult.GetValue(json)),
            parseResult.InvocationConfiguration.Output,
            cancellationToken));
        return command;
    }

    private static Command Engine()
    {
        var workload = new Option<string>("--workload") { Description = "insert: new trades only; mixed: 50% amends and fills of existing trades.", DefaultValueFactory = _ => "insert" };
        workload.AcceptOnlyFromAmong("insert", "mixed");
        var duration = new Option<int>("--duration") { Description = "Seconds to drive the engine.", DefaultValueFactory = _ => 10, HelpName = "S" };
        var rate = new Option<int?>("--rate") { Description = "Open loop: offer N commands per second (latency from the scheduled time). Without it: closed loop.", HelpName = "N" };
        var concurrency = new Option<int>("--concurrency") { Description = "Closed loop: concurrent submitters, each waiting for its acknowledgement.", DefaultValueFactory = _ => 4096, HelpName = "C" };
        var maxBatch = new Option<int>("--max-batch") { Description = "Engine:MaxBatchSize for this run.", DefaultValueFactory = _ => new EngineOptions().MaxBatchSize, HelpName = "N" };
        var baseline = new Option<int>("--baseline-duration") { Description = "Seconds of the one-transaction-per-trade baseline.", DefaultValueFactory = _ => 3, HelpName = "S" };
        var json = new Option<string?>("--json") { Description = "Also write the figures as JSON to FILE.", HelpName = "FILE" };
        OptionRules.WritableFile(json);
        var preload = new Option<int>("--preload") { Description = "Trades created before the measured run: the database size it starts from (mixed needs at least 20,000 and takes that many by default).", DefaultValueFactory = _ => 0, HelpName = "N" };
        OptionRules.AtLeast(0, preload);
        var durability = new Option<string>("--durability") { Description = "Storage:Durability for this run: fsync (acknowledge after fdatasync) or os (no fsync).", DefaultValueFactory = _ => "fsync" };
        durability.AcceptOnlyFromAmong("fsync", "os");
        var stateFlush = new Option<int>("--state-flush-ms")
        {
            Description = "Engine:StateFlushInterval for this run, in milliseconds.",
            DefaultValueFactory = _ => (int)new EngineOptions().StateFlushInterval.TotalMilliseconds,
            HelpName = "MS",
        };
        var applyInterval = new Option<int>("--apply-interval-ms")
        {
            Description = "Engine:ApplyInterval for this run, in milliseconds (0-1000): least time between two DuckDB commits behind the log.",
            DefaultValueFactory = _ => (int)new EngineOptions().ApplyInterval.TotalMilliseconds,
            HelpName = "MS",
        };
        OptionRules.Between(0, 1000, applyInterval);
        OptionRules.AtLeast(1, duration, concurrency, maxBatch, baseline, stateFlush);
        OptionRules.AtLeast(1, rate);

        var command = new Command("engine", "Throughput and acknowledgement latency of the in-process WriteEngine, and its ratio to one DuckDB transaction per trade.")
        {
            workload, duration, rate, concurrency, maxBatch, baseline, json, preload, stateFlush, durability, applyInterval,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            await EngineBenchmark.RunAsync(new EngineBenchmarkOptions(
                Workload: parseResult.GetValue(workload)!,
                Duration: TimeSpan.FromSeconds(parseResult.GetValue(duration)),
                Rate: parseResult.GetValue(rate),
                Concurrency: parseResult.GetValue(concurrency),
                MaxBatchSize: parseResult.GetValue(maxBatch),
                BaselineDuration: TimeSpan.FromSeconds(parseResult.GetValue(baseline)),
                JsonFile: parseResult.GetValue(json),
                Preload: parseResult.GetValue(preload),
                StateFlushInterval: TimeSpan.FromMilliseconds(parseResult.GetValue(stateFlush)),
                Durability: parseResult.GetValue(durability) == "os" ? DurabilityMode.Os : DurabilityMode.Fsync,
                ApplyInterval: TimeSpan.FromMilliseconds(parseResult.GetValue(applyInterval))), parseResult.InvocationConfiguration.Output, cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Log()
    {
        var duration = new Option<int>("--duration") { Description = "Seconds per candidate and group size.", DefaultValueFactory = _ => 5, HelpName = "S" };
        var groups = new Option<string>("--groups") { Description = "Comma-separated group sizes (events made durable together).", DefaultValueFactory = _ => "1,10,100,1000", HelpName = "N,N" };
        OptionRules.AtLeast(1, duration);
        OptionRules.Check(groups, text =>
            (text ?? "").Split(',').Any(g => !int.TryParse(g, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1 || n > 100_000)
                ? $"--groups must be comma-separated whole numbers from 1 to 100000; got '{text}'."
                : null);
        var command = new Command("log", "The journal log candidates side by side: TradeStore's segment log and FASTER's FasterLog, durable appends of groups of events.") { duration, groups };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var sizes = parseResult.GetValue(groups)!.Split(',').Select(g => int.Parse(g, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            await LogBenchmark.RunAsync(TimeSpan.FromSeconds(parseResult.GetValue(duration)), sizes, parseResult.InvocationConfiguration.Output, cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Index()
    {
        var trades = new Option<int>("--trades") { Description = "Trades in the database whose state index is loaded.", DefaultValueFactory = _ => 1_000_000, HelpName = "N" };
        var accounts = new Option<int>("--accounts") { Description = "Accounts the trades are spread over (in turn).", DefaultValueFactory = _ => 50, HelpName = "A" };
        var symbols = new Option<int>("--symbols") { Description = "Symbols the trades are spread over (by a hash, so every account trades many).", DefaultValueFactory = _ => 200, HelpName = "S" };
        OptionRules.AtLeast(1, trades, accounts, symbols);

        var command = new Command("index", "Start-up time, memory (bytes per trade with every index) and in-process list and position latency of the state index for N trades.") { trades, accounts, symbols };
        command.SetAction((parseResult, cancellationToken) =>
        {
            IndexBenchmark.Run(parseResult.GetValue(trades), parseResult.InvocationConfiguration.Output, parseResult.GetValue(accounts), parseResult.GetValue(symbols), cancellationToken);
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    private static Command Http()
    {
        var url = new Option<Uri>("--url") { Description = "Base address of a running server, e.g. http://127.0.0.1:5080.", Required = true, HelpName = "URL", CustomParser = ParseUrl };
        var workload = new Option<string>("--workload") { Description = "insert: new trades; mixed: 50% amends/fills of trades created earlier in the run; read: GET /v1/trades/{id} of a seeded set; list: GET /v1/trades?account=…&limit=100, then with &symbol=…, right after seeding and again once /metrics shows the state flusher and sinks caught up (four runs of --duration).", DefaultValueFactory = _ => "insert" };
        workload.AcceptOnlyFromAmong(HttpBenchmark.Workloads);
        var rate = new Option<int?>("--rate") { Description = "Open loop: N requests per second (latency from the scheduled send time). Without it: closed loop.", HelpName = "N" };
        var duration = new Option<int>("--duration") { Description = "Seconds of load.", DefaultValueFactory = _ => 10, HelpName = "S" };
        var concurrency = new Option<int>("--concurrency") { Description = "Closed loop: connections, each waiting for its answer.", DefaultValueFactory = _ => 32, HelpName = "C" };
        var batch = new Option<int>("--batch") { Description = "insert/mixed: commands per request; above 1 uses POST /v1/trades/batch.", DefaultValueFactory = _ => 1, HelpName = "B" };
        var seed = new Option<int>("--seed-trades") { Description = "read/list: trades created (in batches of 1,000) before the measured run.", DefaultValueFactory = _ => 10_000, HelpName = "N" };
        var verify = new Option<int?>("--verify-limit") { Description = "Read back at most N acknowledged trades (a random sample). Default: all of them.", HelpName = "N" };
        var json = new Option<string?>("--json") { Description = "Also write the figures as JSON to FILE.", HelpName = "FILE" };
        OptionRules.WritableFile(json);
        var apiKey = new Option<string?>("--api-key") { Description = "Sent as 'Authorization: Bearer K' on every request.", HelpName = "K" };
        var warmup = new Option<int>("--warmup")
        {
            Description = "insert/mixed: first run the same load for S seconds, not measured (also before the --baseline run), so both are measured warm. 0: measure from the first request.",
            DefaultValueFactory = _ => 3,
            HelpName = "S",
        };
        var bare = new Option<bool>("--baseline")
        {
            Description = "insert/mixed: then run the same load against a bare endpoint in this process (the same HTTP pipeline and JSON work, commands decided in memory, nothing stored) and print the server's rate as a fraction of it (with --json, also as baseline and fractionOfBaseline).",
        };
        OptionRules.AtLeast(1, duration, concurrency, batch, seed);
        OptionRules.AtLeast(0, warmup);

        OptionRules.AtLeast(1, rate, verify);

        var command = new Command("http", "Load over the HTTP API of a running server: achieved rate, errors by status, latency percentiles, and a read-back of every acknowledged write.")
        {
            url, workload, rate, duration, concurrency, batch, seed, verify, json, apiKey, warmup, bare,
        };
        command.Validators.Add(result =>
        {
            // The bare endpoint decides writes in memory; its reads go to an empty store (every GET by id a 404, every list
            // empty), so a read or list "baseline" printed "0 % of the bare endpoint's 0 ops/s".
            if (result.GetValue(bare) && OptionRules.TryGetValue(result, workload, out var name) && name is "read" or "list")
            {
                result.AddError($"--baseline compares writes with an endpoint that stores nothing: use it with --workload insert or mixed (got {name}).");
            }

            // A read or a list is one request whatever --batch says: "--workload list --batch 100" measured lists of 100
            // one at a time and printed nothing about the option it ignored.
            if (OptionRules.TryGetValue(result, batch, out var perRequest) && perRequest > 1 && OptionRules.TryGetValue(result, workload, out var reads) && reads is "read" or "list")
            {
                result.AddError($"--batch applies to writes (--workload insert or mixed); a {reads} is one request (got --batch {perRequest}).");
            }
        });
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var result = await HttpBenchmark.RunAsync(new HttpBenchmarkOptions(
                Url: parseResult.GetValue(url)!,
                Workload: parseResult.GetValue(workload)!,
                Rate: parseResult.GetValue(rate),
                Concurrency: parseResult.GetValue(concurrency),
                Batch: parseResult.GetValue(batch),
                Duration: TimeSpan.FromSeconds(parseResult.GetValue(duration)),
                ApiKey: parseResult.GetValue(apiKey),
                JsonFile: parseResult.GetValue(json),
                SeedTrades: parseResult.GetValue(seed),
                VerifyLimit: parseResult.GetValue(verify),
                Warmup: TimeSpan.FromSeconds(parseResult.GetValue(warmup))), parseResult.InvocationConfiguration.Output, cancellationToken);
            if (result.Missing > 0)
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync($"{result.Missing} acknowledged writes are missing or older than acknowledged.");
                return ExitCodes.Failure;
            }

            if (parseResult.GetValue(bare))
            {
                await using var endpoint = await BareEndpoint.StartAsync(cancellationToken);
                output.WriteLine($"baseline: the same load against a bare endpoint ({endpoint.Url}: same pipeline and JSON work, nothing stored)");
                var limit = await HttpBenchmark.RunAsync(new HttpBenchmarkOptions(
                    Url: endpoint.Url,
                    Workload: parseResult.GetValue(workload)!,
                    Rate: parseResult.GetValue(rate),
                    Concurrency: parseResult.GetValue(concurrency),
                    Batch: parseResult.GetValue(batch),
                    Duration: TimeSpan.FromSeconds(parseResult.GetValue(duration)),
                    SeedTrades: parseResult.GetValue(seed),
                    ReadBack: false,
                    Warmup: TimeSpan.FromSeconds(parseResult.GetValue(warmup))), output, cancellationToken);
                var fraction = limit.OperationsPerSecond > 0 ? result.OperationsPerSecond / limit.OperationsPerSecond : 0;
                output.WriteLine(FormattableString.Invariant(
                    $"baseline: TradeStore {result.OperationsPerSecond:N0} ops/s = {fraction:P0} of the bare endpoint's {limit.OperationsPerSecond:N0} ops/s (p99 {result.Latency.P99Ms:0.00} ms vs {limit.Latency.P99Ms:0.00} ms)"));
                // The JSON held the server's run alone: the bare endpoint's figures and the ratio were printed only.
                if (parseResult.GetValue(json) is { } file)
                {
                    await HttpBenchmark.WriteJsonAsync(result with { Baseline = limit, FractionOfBaseline = fraction }, file, cancellationToken);
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command All()
    {
        var quick = new Option<bool>("--quick") { Description = "Short runs and a small list data set: finishes in under 3 minutes." };
        var outputDirectory = new Option<string>("--output") { Description = "Folder for benchmarks.md (generated section only), benchmarks.json and plots/.", DefaultValueFactory = _ => "docs", HelpName = "DIR" };
        OptionRules.WritableDirectory(outputDirectory);
        var duration = new Option<int?>("--duration") { Description = "Seconds per run, overriding the quick/full default (5/20).", HelpName = "S" };
        var listTrades = new Option<int?>("--list-trades") { Description = "Trades stored before the list query is measured (default 20,000 quick, 1,000,000 full).", HelpName = "N" };
        OptionRules.AtLeast(1, duration, listTrades);

        var command = new Command("all", "Engine, HTTP (through a child 'serve' on a fresh temporary database), reads, rate sweep and the one-transaction-per-trade baseline; writes the report, JSON and plots.")
        {
            quick, outputDirectory, duration, listTrades,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var settings = TradeStore.Server.Configuration.TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
            var result = await AllBenchmark.RunAsync(new AllBenchmarkOptions(
                Quick: parseResult.GetValue(quick),
                Output: parseResult.GetValue(outputDirectory)!,
                DurationSeconds: parseResult.GetValue(duration),
                ListTrades: parseResult.GetValue(listTrades),
                ConfigFile: parseResult.GetValue(CommonOptions.Config),
                ClickHouse: settings.ClickHouse,
                Redis: settings.Redis), parseResult.InvocationConfiguration.Output, cancellationToken);
            var missing = result.Http.Values.Sum(r => r.Missing);
            if (missing > 0)
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync($"{missing} acknowledged writes are missing or older than acknowledged.");
                return ExitCodes.Failure;
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Sync()
    {
        var rate = new Option<int>("--rate") { Description = "Commands offered per second (open loop).", DefaultValueFactory = _ => 1_000, HelpName = "N" };
        var duration = new Option<int>("--duration") { Description = "Seconds to drive the engine.", DefaultValueFactory = _ => 60, HelpName = "S" };
        var json = new Option<string?>("--json") { Description = "Also write the figures as JSON to FILE.", HelpName = "FILE" };
        OptionRules.WritableFile(json);
        var verbose = new Option<bool>("--verbose") { Description = "Print the sync daemon's log, one line per batch with where its time went." };
        OptionRules.AtLeast(1, rate, duration);

        var command = new Command("sync",
            "Sync lag (recorded_at to visible in ClickHouse) p50/p99 while the engine runs at --rate, into a temporary database on the configured ClickHouse (ClickHouse:Url).")
        {
            rate, duration, json, verbose,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            if (ClickHouseCommandSupport.RequireClickHouse(parseResult) is not { } settings)
            {
                return ExitCodes.BadInput;
            }

            await SyncBenchmark.RunAsync(new SyncBenchmarkOptions(settings.ClickHouse, parseResult.GetValue(rate), TimeSpan.FromSeconds(parseResult.GetValue(duration)),
                parseResult.GetValue(json), parseResult.GetValue(verbose)), parseResult.InvocationConfiguration.Output, cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>A server's base address for <c>--url</c>: absolute http or https, with the slash relative paths need.</summary>
    internal static Uri ParseUrl(System.CommandLine.Parsing.ArgumentResult result)
    {
        var text = result.Tokens.Count == 0 ? "" : result.Tokens[0].Value;
        if (Uri.TryCreate(text.EndsWith('/') ? text : text + "/", UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
        {
            return uri;
        }

        result.AddError($"--url must be an absolute http:// or https:// address; got '{text}'.");
        return null!;
    }
}
