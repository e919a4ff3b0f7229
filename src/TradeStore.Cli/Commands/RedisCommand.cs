using System.CommandLine;
using TradeStore.Redis;
using TradeStore.Redis.Projection;
using TradeStore.Server.Configuration;
using TradeStore.Storage;

namespace TradeStore.Cli.Commands;

/// <summary><c>tradestore redis rebuild</c>: replaces the Redis projection with one computed from DuckDB.</summary>
public static class RedisCommand
{
    public static Command Create()
    {
        var rebuild = new Command("rebuild",
            "Replace the Redis projection (trades, positions, checkpoint; missing stream entries) with one computed from DuckDB. " +
            "Keys of other prefixes are untouched. While a server holds the database, clears the projection instead and the server's projector replays the journal into it.");
        rebuild.SetAction(async (parseResult, cancellationToken) =>
        {
            var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
            var options = RedisCommandSupport.RequireRedis(settings);
            var output = parseResult.InvocationConfiguration.Output;
            using var interruption = OfflineInterruption.ForChanges("redis rebuild", parseResult.InvocationConfiguration.Error, cancellationToken);
            cancellationToken = interruption.Token;
            RedisRebuilder? rebuilder = null;
            DuckDbDatabase? opened = null;
            try
            {
                opened = RedisCommandSupport.OpenExistingDatabase(settings);
            }
            catch (DatabaseLockedException locked)
            {
                output.WriteLine($"The database is held by a running tradestore{(locked.HolderPid is { } pid ? $" (PID {pid})" : string.Empty)}: rebuilding online.");
            }

            using var database = opened;
            try
            {
                var (connection, redis) = await RedisCommandSupport.ConnectAsync(options, cancellationToken);
                await using (connection)
                {
                    if (database is not null)
                    {
                        RedisCommandSupport.MigrateForWriting(database);
                    }

                    var keys = new RedisKeys(options.KeyPrefix);
                    if (database is null)
                    {
                        var cleared = await RedisRebuilder.ClearForReplayAsync(redis, keys, cancellationToken);
                        output.WriteLine($"Cleared the Redis projection on {connection.Endpoint} (prefix '{keys.Prefix}'): {cleared.TradeKeys} trade keys, " +
                            $"{cleared.PositionKeys} positions keys and the checkpoint. The running server's projector now replays the journal into it " +
                            "(its /health/ready shows the progress); the change stream is kept.");
                        return ExitCodes.Success;
                    }

                    // Offline (this process holds DuckDB, so no server projects): a gap inside the stream can be rewritten.
                    rebuilder = new RedisRebuilder(database, keys, options.StreamMaxLength) { Progress = line => output.WriteLine($"redis: {line}") };
                    var report = await rebuilder.RebuildAsync(redis, cancellationToken, repairStreamGaps: true);
                    output.WriteLine($"Rebuilt the Redis projection on {connection.Endpoint} (prefix '{keys.Prefix}') at seq {report.Checkpoint}: " +
                        $"{report.Trades} trades, {report.Positions} positions, {report.RemovedTradeKeys} stale trade keys removed, " +
                        $"{report.StreamEntriesAdded} stream entries added" +
                        (report.StreamGapsRepaired > 0 ? $" (the stream lacked {report.StreamGapsRepaired} entries inside it and was rewritten whole)." : "."));
                    return ExitCodes.Success;
                }
            }
            catch (Exception ex) when (RedisCommandSupport.IsRedisFailure(ex))
            {
                return RedisCommandSupport.Unreachable(parseResult.InvocationConfiguration.Error, options, ex);
            }
            catch (OperationCanceledException) when (interruption.Interrupted)
            {
                // Online, the clearing is a few deletes and one script: not reported part way.
                return interruption.Report(rebuilder?.DescribeChanges() ?? "nothing was changed in Redis.");
            }
        });

        return new Command("redis", "Operate the Redis real-time projection.") { rebuild };
    }
}
