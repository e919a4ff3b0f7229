using System.CommandLine;
using TradeStore.ClickHouse.Recovery;
using TradeStore.Redis;
using TradeStore.Redis.Projection;
using TradeStore.Server.Configuration;
using TradeStore.Storage;
using TradeStore.Storage.Migrations;
using TradeStore.Storage.Recovery;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore recover --from SOURCE</c>: brings the journal back from a derived store. Sources are pluggable, one
/// entry of <see cref="Sources"/> each: <c>redis</c> appends the events its change stream holds beyond the journal
/// (<see cref="JournalRecovery"/>); <c>clickhouse</c> rebuilds a lost database, journal and state, from ClickHouse's full
/// history into an empty data directory (<see cref="ClickHouseRecovery"/>) and verifies it.
/// </summary>
public static class RecoverCommand
{
    private static readonly Dictionary<string, Func<ParseResult, CancellationToken, Task<int>>> Sources = new(StringComparer.Ordinal)
    {
        ["redis"] = FromRedisAsync,
        ["clickhouse"] = FromClickHouseAsync,
    };

    private static readonly Option<string> From = new("--from")
    {
        Description = "The store to recover from: redis (its change stream: the journal tail) or clickhouse (the whole history, into an empty --data).",
        HelpName = "SOURCE",
        Required = true,
    };

    private static readonly Option<bool> SetAside = new("--set-aside")
    {
        Description = "First move the (damaged) tradestore.duckdb and its WAL into DIR/damaged-<UTC time>/ (nothing is deleted), so the recovery starts from an empty database.",
    };

    public static Command Create()
    {
        From.AcceptOnlyFromAmong([.. Sources.Keys]);
        var command = new Command("recover",
            "Bring the journal back from a derived store: --from redis appends the events Redis holds beyond the journal (refuses when that " +
            "would leave a gap; never overwrites journal rows); --from clickhouse rebuilds a lost database into an EMPTY data directory and " +
            "verifies it. Run it while the service is stopped.")
        {
            From,
            SetAside,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            if (parseResult.GetValue(SetAside))
            {
                MoveDamagedFilesAside(parseResult);
            }

            return Sources[parseResult.GetValue(From)!](parseResult, cancellationToken);
        });
        return command;
    }

    private static void MoveDamagedFilesAside(ParseResult parseResult)
    {
        var path = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult)).Storage.DatabasePath;
        if (!File.Exists(path) && !File.Exists(DatabaseFiles.WalPath(path)))
        {
            parseResult.InvocationConfiguration.Output.WriteLine($"--set-aside: there is no database at {path}; nothing to move.");
            return;
        }

        var folder = DatabaseFiles.SetAside(path);
        parseResult.InvocationConfiguration.Output.WriteLine($"--set-aside: moved {path} and its WAL into {folder} (kept, not deleted).");
    }

    private static Task<int> FromRedisAsync(ParseResult parseResult, CancellationToken cancellationToken) =>
        RedisCommandSupport.RunAsync(parseResult, async (options, database, redis, output, error) =>
        {
            var source = new RedisRecoverySource(redis, new RedisKeys(options.KeyPrefix));
            var report = await new JournalRecovery(database).RecoverAsync(source, cancellationToken);
            (report.Outcome == RecoveryOutcome.Refused ? error : output).WriteLine(report.Message);
            if (report.Outcome == RecoveryOutcome.Recovered)
            {
                database.Checkpoint();
            }

            return report.Outcome == RecoveryOutcome.Refused ? ExitCodes.Failure : ExitCodes.Success;
        }, cancellationToken);

    private static async Task<int> FromClickHouseAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var output = parseResult.InvocationConfiguration.Output;
        var error = parseResult.InvocationConfiguration.Error;
        if (ClickHouseCommandSupport.RequireClickHouse(parseResult) is not { } settings)
        {
            return ExitCodes.BadInput;
        }

        using var database = DuckDbDatabase.Open(settings.Storage.DatabasePath, settings.Storage.CheckpointThreshold);
        DuckDbSchema.MigrateToLatest(database);
        RecoveryResult result;
        try
        {
            result = await new ClickHouseRecovery(ClickHouseCommandSupport.Client(settings), database)
                .RecoverAsync(line => output.WriteLine($"recover: {line}"), cancellationToken);
        }
        catch (DatabaseNotEmptyException ex)
        {
            error.WriteLine($"tradestore: {ex.Message}");
            return ExitCodes.BadInput;
        }
        catch (JournalImportException ex)
        {
            error.WriteLine($"tradestore: recover failed, nothing was written: {ex.Message}");
            return ExitCodes.Failure;
        }
        catch (Exception ex) when (ClickHouseCommandSupport.IsClickHouseFailure(ex))
        {
            error.WriteLine($"tradestore: recover could not read ClickHouse, nothing was written: {ex.Message}");
            return ExitCodes.Failure;
        }

        database.Checkpoint();
        output.WriteLine($"recover: restored {result.Events} events of {result.Trades} trades into {database.Path}");
        return VerifyCommand.Print(output, [result.Verification]) ? ExitCodes.Success : ExitCodes.Failure;
    }
}
