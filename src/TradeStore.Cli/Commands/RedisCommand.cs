using System.CommandLine;
using TradeStore.Redis;
using TradeStore.Redis.Projection;
using TradeStore.Server.Configuration;

namespace TradeStore.Cli.Commands;

/// <summary><c>tradestore redis rebuild</c>: replaces the Redis projection with one computed from DuckDB.</summary>
public static class RedisCommand
{
    public static Command Create()
    {
        var rebuild = new Command("rebuild",
            "Replace the Redis projection (trades, positions, checkpoint; missing stream entries) with one computed from DuckDB. " +
            "Keys of other prefixes are untouched. A running projector re-applies anything newer on top.");
        rebuild.SetAction(async (parseResult, cancellationToken) =>
        {
            var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
            var options = RedisCommandSupport.RequireRedis(settings);
            using var database = RedisCommandSupport.OpenExistingDatabase(settings);
            var output = parseResult.InvocationConfiguration.Output;
            try
            {
                var (connection, redis) = await RedisCommandSupport.ConnectAsync(options, cancellationToken);
                await using (connection)
                {
                    var keys = new RedisKeys(options.KeyPrefix);
                    var report = await new RedisRebuilder(database, keys, options.StreamMaxLength).RebuildAsync(redis, cancellationToken);
                    output.WriteLine($"Rebuilt the Redis projection on {connection.Endpoint} (prefix '{keys.Prefix}') at seq {report.Checkpoint}: " +
                        $"{report.Trades} trades, {report.Positions} positions, {report.RemovedTradeKeys} stale trade keys removed, " +
                        $"{report.StreamEntriesAdded} stream entries added.");
                    return ExitCodes.Success;
                }
            }
            catch (Exception ex) when (RedisCommandSupport.IsRedisFailure(ex))
            {
                return RedisCommandSupport.Unreachable(parseResult.InvocationConfiguration.Error, options, ex);
            }
        });

        return new Command("redis", "Operate the Redis real-time projection.") { rebuild };
    }
}
