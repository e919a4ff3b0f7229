using System.CommandLine;
using TradeStore.ClickHouse.Verification;
using TradeStore.Redis;
using TradeStore.Redis.Projection;
using TradeStore.Server.Configuration;
using TradeStore.Storage;
using TradeStore.Storage.Integrity;
using TradeStore.Storage.Migrations;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore verify [--redis] [--clickhouse]</c>: checks the DuckDB journal against the current state (the
/// same integrity check <c>serve</c> runs at start-up), then compares each selected derived store with DuckDB,
/// the system of record, and prints every difference; exit code 1 when there is any. Each store's check lives
/// in its own assembly.
/// </summary>
public static class VerifyCommand
{
    private const int MaxPrinted = 100;

    private static readonly Option<bool> Redis = new("--redis")
    {
        Description = "Compare every trade, position, the checkpoint and the change stream in Redis with DuckDB.",
    };

    private static readonly Option<bool> ClickHouse = new("--clickhouse")
    {
        Description = "Compare ClickHouse (event count, max seq, money sums, each trade's latest version; read with FINAL) with the journal.",
    };

    private static readonly Option<long> SampleAbove = new("--sample-above")
    {
        Description = "Compare the current state (current_trade_state) with the journal for every trade up to this many trades, for a random sample of this size above it.",
        HelpName = "N",
        DefaultValueFactory = _ => 1_000_000,
    };

    public static Command Create()
    {
        var command = new Command("verify",
            "Check the DuckDB journal and state (seq gap-free, versions contiguous, state = fold of the journal, checkpoints not ahead), " +
            "then compare the selected derived stores with DuckDB; print every difference (exit code 1 when any). Run it while the service is stopped.")
        {
            Redis,
            ClickHouse,
            SampleAbove,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var redis = parseResult.GetValue(Redis);
            var clickHouse = parseResult.GetValue(ClickHouse);
            var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
            if (redis)
            {
                RedisCommandSupport.RequireRedis(settings); // a missing setting is reported before any work is done
            }

            if (clickHouse && ClickHouseCommandSupport.RequireClickHouse(parseResult) is null)
            {
                return ExitCodes.BadInput;
            }

            var exitCode = VerifyIntegrity(parseResult, settings);
            if (redis)
            {
                exitCode = Math.Max(exitCode, await VerifyRedisAsync(parseResult, cancellationToken));
            }

            if (clickHouse)
            {
                exitCode = Math.Max(exitCode, await VerifyClickHouseAsync(parseResult, cancellationToken));
            }

            return exitCode;
        });
        return command;
    }

    /// <summary>The DuckDB integrity check, read-only: the database must exist and be at the schema this binary knows.</summary>
    private static int VerifyIntegrity(ParseResult parseResult, TradeStoreSettings settings)
    {
        var path = settings.Storage.DatabasePath;
        if (!File.Exists(path))
        {
            throw new ConfigurationException($"Storage:DataDirectory: there is no database at {path}.");
        }

        var sampleAbove = parseResult.GetValue(SampleAbove);
        if (sampleAbove < 1)
        {
            throw new ConfigurationException("--sample-above must be 1 or more.");
        }

        using var database = DuckDbDatabase.Open(path);
        try
        {
            DuckDbSchema.RequireLatest(database);
        }
        catch (DuckDB.NET.Data.DuckDBException ex)
        {
            throw DatabaseOpenException.ReadFailed(path, ex);
        }

        var report = new IntegrityChecker(database) { FullCompareLimit = sampleAbove }.Check();
        parseResult.InvocationConfiguration.Output.WriteLine($"duckdb: {report.Describe()}");
        return report.IsHealthy ? ExitCodes.Success : ExitCodes.Failure;
    }

    /// <summary>Prints each report; returns whether all were clean.</summary>
    public static bool Print(TextWriter output, IEnumerable<VerificationReport> reports)
    {
        var clean = true;
        foreach (var report in reports)
        {
            foreach (var fact in report.Facts)
            {
                output.WriteLine($"{report.Target}: {fact}");
            }

            foreach (var difference in report.Differences)
            {
                output.WriteLine($"{report.Target}: DIFFERENCE {difference}");
            }

            output.WriteLine(report.Clean
                ? $"{report.Target}: OK, matches the journal"
                : $"{report.Target}: {report.Differences.Count} difference(s)");
            clean &= report.Clean;
        }

        return clean;
    }

    private static async Task<int> VerifyRedisAsync(ParseResult parseResult, CancellationToken cancellationToken)
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
    }

    private static async Task<int> VerifyClickHouseAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var output = parseResult.InvocationConfiguration.Output;
        var error = parseResult.InvocationConfiguration.Error;
        if (ClickHouseCommandSupport.RequireClickHouse(parseResult) is not { } settings)
        {
            return ExitCodes.BadInput;
        }

        using var database = ClickHouseCommandSupport.OpenExisting(settings, error);
        if (database is null)
        {
            return ExitCodes.BadInput;
        }

        try
        {
            var report = await new ClickHouseVerifier(ClickHouseCommandSupport.Client(settings), database).VerifyAsync(cancellationToken);
            return Print(output, [report]) ? ExitCodes.Success : ExitCodes.Failure;
        }
        catch (Exception ex) when (ClickHouseCommandSupport.IsClickHouseFailure(ex))
        {
            error.WriteLine($"tradestore: verify --clickhouse could not read ClickHouse: {ex.Message}");
            return ExitCodes.Failure;
        }
    }
}
