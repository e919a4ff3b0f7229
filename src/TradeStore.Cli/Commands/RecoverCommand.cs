using System.CommandLine;
using TradeStore.Redis;
using TradeStore.Redis.Projection;
using TradeStore.Server.Configuration;
using TradeStore.Storage.Recovery;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore recover --from SOURCE</c>: appends to the journal the events a derived store holds beyond it.
/// Sources are pluggable (<see cref="IJournalRecoverySource"/>); the checks and the append are <see cref="JournalRecovery"/>'s.
/// </summary>
public static class RecoverCommand
{
    private static readonly Option<string> From = new("--from")
    {
        Description = "The store to recover from: redis (its change stream).",
        HelpName = "SOURCE",
        Required = true,
    };

    public static Command Create()
    {
        From.AcceptOnlyFromAmong("redis");
        var command = new Command("recover",
            "Append to the journal the events a derived store holds beyond its last seq (after restoring an older database copy " +
            "or losing a journal tail). Refuses with a report when that would leave a gap; never overwrites journal rows. Run it while the service is stopped.")
        {
            From,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var options = RedisCommandSupport.RequireRedis(settings);
            using var database = RedisCommandSupport.OpenExistingDatabase(settings);
            try
            {
                var (connection, redis) = await RedisCommandSupport.ConnectAsync(options, cancellationToken);
                await using (connection)
                {
                    var source = new RedisRecoverySource(redis, new RedisKeys(options.KeyPrefix));
                    var report = await new JournalRecovery(database).RecoverAsync(source, cancellationToken);
                    (report.Outcome == RecoveryOutcome.Refused ? error : output).WriteLine(report.Message);
                    if (report.Outcome == RecoveryOutcome.Recovered)
                    {
                        database.Checkpoint();
                    }

                    return report.Outcome == RecoveryOutcome.Refused ? ExitCodes.Failure : ExitCodes.Success;
                }
            }
            catch (Exception ex) when (RedisCommandSupport.IsRedisFailure(ex))
            {
                return RedisCommandSupport.Unreachable(error, options, ex);
            }
            catch (FormatException ex)
            {
                error.WriteLine($"tradestore: {ex.Message} Nothing was written.");
                return ExitCodes.Failure;
            }
        });
        return command;
    }
}
