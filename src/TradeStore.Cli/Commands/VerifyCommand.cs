using System.CommandLine;
using TradeStore.Redis;
using TradeStore.Redis.Projection;
using TradeStore.Server.Configuration;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore verify</c>: compares the derived stores with DuckDB, the system of record, and prints every
/// difference; exit code 1 when there is any. Each store's check lives in its own assembly.
/// </summary>
public static class VerifyCommand
{
    private const int MaxPrinted = 100;

    private static readonly Option<bool> Redis = new("--redis")
    {
        Description = "Compare every trade, position, the checkpoint and the change stream in Redis with DuckDB.",
    };

    public static Command Create()
    {
        var command = new Command("verify", "Compare derived stores with DuckDB and print the differences (exit code 1 when any). Run it while the service is stopped.")
        {
            Redis,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            if (!parseResult.GetValue(Redis))
            {
                error.WriteLine("tradestore: verify needs a store to check: --redis.");
                return ExitCodes.BadInput;
            }

            var options = RedisCommandSupport.RequireRedis(settings);
            using var database = RedisCommandSupport.OpenExistingDatabase(settings);
            try
            {
                var (connection, redis) = await RedisCommandSupport.ConnectAsync(options, cancellationToken);
                await using (connection)
                {
                    var report = await new RedisVerifier(new RedisKeys(options.KeyPrefix)).VerifyAsync(redis, ProjectionSnapshot.Read(database), cancellationToken);
                    foreach (var difference in report.Differences.Take(MaxPrinted))
                    {
                        output.WriteLine($"redis: {difference}");
                    }

                    if (report.Differences.Count > MaxPrinted)
                    {
                        output.WriteLine($"redis: … and {report.Differences.Count - MaxPrinted} more");
                    }

                    output.WriteLine($"redis: {(report.IsClean ? "OK" : $"{report.Differences.Count} differences")} " +
                        $"({report.TradesChecked} trades, {report.PositionsChecked} positions, {report.StreamEntries} stream entries; " +
                        $"Redis checkpoint {report.RedisCheckpoint}, journal at seq {report.JournalLastSeq})");
                    return report.IsClean ? ExitCodes.Success : ExitCodes.Failure;
                }
            }
            catch (Exception ex) when (RedisCommandSupport.IsRedisFailure(ex))
            {
                return RedisCommandSupport.Unreachable(error, options, ex);
            }
        });
        return command;
    }
}
