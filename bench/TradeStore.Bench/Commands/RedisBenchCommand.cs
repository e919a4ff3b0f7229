using System.CommandLine;
using TradeStore.Cli;
using TradeStore.Cli.Commands;
using TradeStore.Server.Configuration;

namespace TradeStore.Bench.Commands;

/// <summary><c>tradestore-bench redis</c>: Redis projection lag at a sustained write rate (a subcommand of <see cref="BenchCommand"/>).</summary>
public static class RedisBenchCommand
{
    public static Command Create()
    {
        var rate = new Option<int>("--rate") { Description = "Commands offered per second (open loop).", DefaultValueFactory = _ => 10_000, HelpName = "N" };
        var duration = new Option<int>("--duration") { Description = "Seconds of sustained writes.", DefaultValueFactory = _ => 30, HelpName = "S" };
        var workload = new Option<string>("--workload") { Description = "insert: new trades only; mixed: creates, amends and fills.", DefaultValueFactory = _ => "mixed" };
        workload.AcceptOnlyFromAmong("insert", "mixed");
        var maxBatch = new Option<int>("--max-batch") { Description = "Redis:MaxBatchSize for this run.", DefaultValueFactory = _ => 1000, HelpName = "N" };
        var warmup = new Option<int>("--warmup")
        {
            Description = "First seconds of the run not measured (the projector's first batches run on cold code and a cold Redis script cache).",
            DefaultValueFactory = _ => 3,
            HelpName = "S",
        };
        OptionRules.AtLeast(0, warmup);
        OptionRules.AtLeast(1, rate, duration, maxBatch);

        var command = new Command("redis",
            "Projection lag (commit to visible in Redis, p50/p99) of the Redis projector while the engine takes N trades/s, on a fresh temporary database " +
            "and the configured Redis (Redis:Connection) under a throw-away key prefix.")
        {
            rate, duration, workload, maxBatch, warmup,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
            var redis = RedisCommandSupport.RequireRedis(settings);
            if (parseResult.GetValue(warmup) >= parseResult.GetValue(duration))
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync("--warmup must be shorter than --duration.");
                return ExitCodes.BadInput;
            }

            await RedisBenchmark.RunAsync(new RedisBenchmarkOptions(redis.Connection!, parseResult.GetValue(rate), TimeSpan.FromSeconds(parseResult.GetValue(duration)),
                parseResult.GetValue(workload)!, parseResult.GetValue(maxBatch), TimeSpan.FromSeconds(parseResult.GetValue(warmup))),
                parseResult.InvocationConfiguration.Output, cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }
}
