using System.CommandLine;
using TradeStore.ClickHouse.Recovery;
using TradeStore.Server.Configuration;
using TradeStore.Storage;
using TradeStore.Storage.Migrations;
using TradeStore.Storage.Recovery;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore recover --from SOURCE --data DIR</c>: rebuilds a lost database (journal and state) into an empty
/// data directory from a derived store that holds the full history, then verifies it. Sources are pluggable:
/// each is one entry of <see cref="Sources"/>.
/// </summary>
public static class RecoverCommand
{
    /// <summary>Each source: restores into the open, migrated, empty database and returns the exit code.</summary>
    private static readonly Dictionary<string, Func<ParseResult, TradeStoreSettings, DuckDbDatabase, CancellationToken, Task<int>>> Sources = new(StringComparer.Ordinal)
    {
        ["clickhouse"] = FromClickHouseAsync,
    };

    private static readonly Option<string> From = new("--from")
    {
        Description = "Where the history comes from: " + string.Join(", ", Sources.Keys) + ".",
        HelpName = "SOURCE",
        Required = true,
    };

    public static Command Create()
    {
        From.AcceptOnlyFromAmong([.. Sources.Keys]);
        var command = new Command("recover",
            "Rebuild a lost database from another store's copy of the history into an EMPTY data directory (--data), then verify it. " +
            "Refuses a database that holds data.")
        {
            From,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
            var source = Sources[parseResult.GetValue(From)!];
            using var database = DuckDbDatabase.Open(settings.Storage.DatabasePath);
            DuckDbSchema.MigrateToLatest(database);
            try
            {
                return await source(parseResult, settings, database, cancellationToken);
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
        });
        return command;
    }

    private static async Task<int> FromClickHouseAsync(ParseResult parseResult, TradeStoreSettings settings, DuckDbDatabase database, CancellationToken cancellationToken)
    {
        var output = parseResult.InvocationConfiguration.Output;
        var error = parseResult.InvocationConfiguration.Error;
        if (ClickHouseCommandSupport.RequireClickHouse(parseResult) is null)
        {
            return ExitCodes.BadInput;
        }

        RecoveryResult result;
        try
        {
            result = await new ClickHouseRecovery(ClickHouseCommandSupport.Client(settings), database)
                .RecoverAsync(line => output.WriteLine($"recover: {line}"), cancellationToken);
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
