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
    public static RootCommand CreateRoot() => new("tradestore-bench: run a benchmark on a fresh temporary database and print the figures. " +
        "Ships apart from the tradestore command; run it with `dotnet run --project bench/TradeStore.Bench -c Release -- <command>`.")
    {
        CommonOptions.Config,
        CommonOptions.Data,
        Engine(),
        Index(),
        Http(),
        All(),
        Sync(),
        RedisBenchCommand.Create(),
        ClientBenchCommand.Create(),
    };

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
        var preload = new Option<int>("--preload") { Description = "Trades created before the measured run: the database size it starts from (mixed needs at least 20,000 and takes that many by default).", DefaultValueFactory = _ => 0, HelpName = "N" };
        preload.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 0)
            {
                result.AddError("--preload must be 0 or greater.");
            }
        });
        var stateFlush = new Option<int>("--state-flush-ms")
        {
            Description = "Engine:StateFlushInterval for this run, in milliseconds.",
            DefaultValueFactory = _ => (int)new EngineOptions().StateFlushInterval.TotalMilliseconds,
            HelpName = "MS",
        };
        foreach (var positive in new[] { duration, concurrency, maxBatch, baseline, stateFlush })
        {
            positive.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int>() < 1)
                {
                    result.AddError($"{result.Option.Name} must be 1 or greater.");
                }
            });
        }

        rate.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1)
            {
                result.AddError("--rate must be 1 or greater.");
            }
        });

        var command = new Command("engine", "Throughput and acknowledgement latency of the in-process WriteEngine, and its ratio to one DuckDB transaction per trade.")
        {
            workload, duration, rate, concurrency, maxBatch, baseline, json, preload, stateFlush,
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
                StateFlushInterval: TimeSpan.FromMilliseconds(parseResult.GetValue(stateFlush))), parseResult.InvocationConfiguration.Output, cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Index()
    {
        var trades = new Option<int>("--trades") { Description = "Trades in the database whose state index is loaded.", DefaultValueFactory = _ => 1_000_000, HelpName = "N" };
        trades.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
            {
                result.AddError("--trades must be 1 or greater.");
            }
        });
        var command = new Command("index", "Start-up time and memory of the in-memory state index for N trades.") { trades };
        command.SetAction(parseResult =>
        {
            IndexBenchmark.Run(parseResult.GetValue(trades), parseResult.InvocationConfiguration.Output);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Http()
    {
        var url = new Option<Uri>("--url") { Description = "Base address of a running server, e.g. http://127.0.0.1:5080.", Required = true, HelpName = "URL", CustomParser = ParseUrl };
        var workload = new Option<string>("--workload") { Description = "insert: new trades; mixed: 50% amends/fills of trades created earlier in the run; read: GET /v1/trades/{id} of a seeded set; list: GET /v1/trades?account=…&limit=100.", DefaultValueFactory = _ => "insert" };
        workload.AcceptOnlyFromAmong(HttpBenchmark.Workloads);
        var rate = new Option<int?>("--rate") { Description = "Open loop: N requests per second (latency from the scheduled send time). Without it: closed loop.", HelpName = "N" };
        var duration = new Option<int>("--duration") { Description = "Seconds of load.", DefaultValueFactory = _ => 10, HelpName = "S" };
        var concurrency = new Option<int>("--concurrency") { Description = "Closed loop: connections, each waiting for its answer.", DefaultValueFactory = _ => 32, HelpName = "C" };
        var batch = new Option<int>("--batch") { Description = "Commands per request; above 1 uses POST /v1/trades/batch.", DefaultValueFactory = _ => 1, HelpName = "B" };
        var seed = new Option<int>("--seed-trades") { Description = "read/list: trades created (in batches of 1,000) before the measured run.", DefaultValueFactory = _ => 10_000, HelpName = "N" };
        var verify = new Option<int?>("--verify-limit") { Description = "Read back at most N acknowledged trades (a random sample). Default: all of them.", HelpName = "N" };
        var json = new Option<string?>("--json") { Description = "Also write the figures as JSON to FILE.", HelpName = "FILE" };
        var apiKey = new Option<string?>("--api-key") { Description = "Sent as 'Authorization: Bearer K' on every request.", HelpName = "K" };
        foreach (var positive in new[] { duration, concurrency, batch, seed })
        {
            positive.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int>() < 1)
                {
                    result.AddError($"{result.Option.Name} must be 1 or greater.");
                }
            });
        }

        foreach (var optional in new[] { rate, verify })
        {
            optional.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int?>() is < 1)
                {
                    result.AddError($"{result.Option.Name} must be 1 or greater.");
                }
            });
        }

        var command = new Command("http", "Load over the HTTP API of a running server: achieved rate, errors by status, latency percentiles, and a read-back of every acknowledged write.")
        {
            url, workload, rate, duration, concurrency, batch, seed, verify, json, apiKey,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
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
                VerifyLimit: parseResult.GetValue(verify)), parseResult.InvocationConfiguration.Output, cancellationToken);
            if (result.Missing > 0)
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync($"{result.Missing} acknowledged writes are missing or older than acknowledged.");
                return ExitCodes.Failure;
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command All()
    {
        var quick = new Option<bool>("--quick") { Description = "Short runs and a small list data set: finishes in under 3 minutes." };
        var outputDirectory = new Option<string>("--output") { Description = "Folder for benchmarks.md (generated section only), benchmarks.json and plots/.", DefaultValueFactory = _ => "docs", HelpName = "DIR" };
        var duration = new Option<int?>("--duration") { Description = "Seconds per run, overriding the quick/full default (5/20).", HelpName = "S" };
        var listTrades = new Option<int?>("--list-trades") { Description = "Trades stored before the list query is measured (default 20,000 quick, 1,000,000 full).", HelpName = "N" };
        foreach (var optional in new[] { duration, listTrades })
        {
            optional.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int?>() is < 1)
                {
                    result.AddError($"{result.Option.Name} must be 1 or greater.");
                }
            });
        }

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
        var verbose = new Option<bool>("--verbose") { Description = "Print the sync daemon's log, one line per batch with where its time went." };
        foreach (var positive in new[] { rate, duration })
        {
            positive.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int>() < 1)
                {
                    result.AddError($"{result.Option.Name} must be 1 or greater.");
                }
            });
        }

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

    private static Uri ParseUrl(System.CommandLine.Parsing.ArgumentResult result)
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
