using System.CommandLine;
using StackExchange.Redis;
using TradeStore.Core.Migrations;
using TradeStore.Core.Options;
using TradeStore.Redis;
using TradeStore.Server.Configuration;
using TradeStore.Storage;
using TradeStore.Storage.Migrations;

namespace TradeStore.Cli.Commands;

/// <summary>What the Redis operator commands share: the configured connection and the existing database.</summary>
internal static class RedisCommandSupport
{
    /// <exception cref="ConfigurationException">Redis is not configured.</exception>
    public static RedisOptions RequireRedis(TradeStoreSettings settings) => settings.Redis.Enabled
        ? settings.Redis
        : throw new ConfigurationException("Redis:Connection is not set; this command needs Redis (set Redis:Connection or TRADESTORE__REDIS__CONNECTION).");

    /// <summary>
    /// Opens the existing database; a missing file is a usage error, not an empty journal. <paramref name="readOnly"/>
    /// (<c>verify</c>) changes nothing: no migration (an older schema is refused) and a crash's WAL is not folded in.
    /// Otherwise the caller migrates it with <see cref="MigrateForWriting"/>, once Redis has answered.
    /// </summary>
    /// <exception cref="ConfigurationException">No database at the configured path.</exception>
    public static DuckDbDatabase OpenExistingDatabase(TradeStoreSettings settings, bool readOnly = false)
    {
        var path = settings.Storage.DatabasePath;
        if (!DatabaseFiles.Exists(path))
        {
            throw new ConfigurationException($"Storage:DataDirectory: there is no database at {path} (check --data). " +
                "To rebuild a lost database from Redis's whole stream, run `tradestore recover --from redis --set-aside` with this --data.");
        }

        if (readOnly)
        {
            var existing = DuckDbDatabase.OpenReadOnly(path);
            DuckDbSchema.RequireLatest(existing, PendingMigrationAdvice.ReadOnlyCommand("verify --redis"));
            return existing;
        }

        return DuckDbDatabase.Open(path, settings.Storage.CheckpointThreshold);
    }

    /// <summary>
    /// Brings a database a command writes to this binary's schema. By design called only once Redis answered
    /// (<see cref="ConnectAsync"/>): a command that then fails on an unreachable Redis has changed nothing, where it
    /// migrated first and left a database at version 0 at version 3.
    /// </summary>
    public static void MigrateForWriting(DuckDbDatabase database) => DuckDbSchema.MigrateToLatest(database);

    /// <summary>Connects and proves Redis answers, so an unreachable server is one clear line instead of a timeout later.</summary>
    public static async Task<(RedisConnection Connection, IDatabase Database)> ConnectAsync(RedisOptions options, CancellationToken cancellationToken)
    {
        var connection = RedisConnection.Create(options);
        try
        {
            var database = await connection.GetReachableDatabaseAsync(options.HealthTimeout, cancellationToken);
            await database.PingAsync().WaitAsync(options.HealthTimeout * 5, cancellationToken);
            return (connection, database);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The frame of an offline Redis command: binds the settings, requires Redis, opens the existing database,
    /// connects, runs <paramref name="action"/> (options, database, Redis, output, error; returns the exit code),
    /// and turns Redis being unreachable into one line and <see cref="ExitCodes.Failure"/>. With
    /// <paramref name="createDatabase"/> the database is created when absent (<c>recover --set-aside</c> has just moved it
    /// away), apart, and moved into place only when <paramref name="action"/> succeeds (<see cref="RecoveryTarget"/>);
    /// with <paramref name="readOnly"/> it is opened read-only (<see cref="OpenExistingDatabase"/>).
    /// </summary>
    public static async Task<int> RunAsync(ParseResult parseResult,
        Func<RedisOptions, DuckDbDatabase, IDatabase, TextWriter, TextWriter, Task<int>> action, CancellationToken cancellationToken, bool createDatabase = false,
        bool readOnly = false)
    {
        var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
        var output = parseResult.InvocationConfiguration.Output;
        var error = parseResult.InvocationConfiguration.Error;
        var options = RequireRedis(settings);
        using var target = createDatabase ? RecoveryTarget.Open(settings) : null;
        using var existing = createDatabase ? null : OpenExistingDatabase(settings, readOnly);
        try
        {
            var (connection, redis) = await ConnectAsync(options, cancellationToken);
            await using (connection)
            {
                if (existing is not null && !readOnly)
                {
                    MigrateForWriting(existing);
                }

                var exitCode = await action(options, target?.Database ?? existing!, redis, output, error);
                if (exitCode == ExitCodes.Success)
                {
                    target?.Commit();
                }

                return exitCode;
            }
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            return Unreachable(error, options, ex);
        }
    }

    /// <summary>One line for an operator when Redis fails mid-command.</summary>
    public static int Unreachable(TextWriter error, RedisOptions options, Exception ex)
    {
        error.WriteLine(UnreachableLine(options, ex));
        return ExitCodes.Failure;
    }

    /// <summary>"tradestore: Redis at HOST:PORT: why" (not connected and why, or no answer in time).</summary>
    public static string UnreachableLine(RedisOptions options, Exception ex) =>
        $"tradestore: Redis at {options.Connection}: {(ex is TimeoutException ? "connected, but no answer in time" : ex.Message)}";

    public static bool IsRedisFailure(Exception ex) => ex is RedisException or TimeoutException;
}
