using System.CommandLine;
using TradeStore.Bench;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore bench</c>: measurements on fresh temporary databases, never on the configured one.
/// One subcommand per subsystem; add new ones in <see cref="Create"/>.
/// </summary>
public static class BenchCommand
{
    public static Command Create() => new("bench", "Run a benchmark on a fresh temporary database and print the figures.")
    {
        Engine(),
        Index(),
        Sync(),
        RedisBenchCommand.Create(),
    };

    private static Command Engine()
    {
        var workload = new Option<string>("--workload") { Description = "insert: new trades only; mixed: 50% amends and fills of existing trades.", DefaultValueFactory = _ => "insert" };
        workload.AcceptOnlyFromAmong("insert", "mixed");
        var duration = new Option<int>("--duration") { Description = "Seconds to drive the engine.", DefaultValueFactory = _ => 10, HelpName = "S" };
        var rate = new Option<int?>("--rate") { Description = "Open loop: offer N commands per second (latency from the scheduled time). Without it: closed loop.", HelpName = "N" };
        var concurrency = new Option<int>("--concurrency") { Description = "Closed loop: concurrent submitters, each waiting for its acknowledgement.", DefaultValueFactory = _ => 1024, HelpName = "C" };
        var maxBatch = new Option<int>("--max-batch") { Description = "Engine:MaxBatchSize for this run.", DefaultValueFactory = _ => 1000, HelpName = "N" };
        var baseline = new Option<int>("--baseline-duration") { Description = "Seconds of the one-transaction-per-trade baseline.", DefaultValueFactory = _ => 3, HelpName = "S" };
        var json = new Option<string?>("--json") { Description = "Also write the figures as JSON to FILE.", HelpName = "FILE" };
        foreach (var positive in new[] { duration, concurrency, maxBatch, baseline })
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
            workload, duration, rate, concurrency, maxBatch, baseline, json,
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
                JsonFile: parseResult.GetValue(json)), parseResult.InvocationConfiguration.Output, cancellationToken);
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
}
