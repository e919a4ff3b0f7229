using System.CommandLine;
using TradeStore.ClickHouse.Verification;
using TradeStore.Server.Configuration;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore verify --clickhouse [--redis]</c>: compares derived stores with the DuckDB journal and exits 1 listing
/// every difference. Each flag selects one check; the checks themselves live in their store's assembly.
/// </summary>
public static class VerifyCommand
{
    private static readonly Option<bool> ClickHouse = new("--clickhouse")
    {
        Description = "Compare ClickHouse (event count, max seq, money sums, each trade's latest version; read with FINAL) with the journal.",
    };

    public static Command Create()
    {
        var command = new Command("verify",
            "Check derived stores against the DuckDB journal (the server must be stopped: it holds the database). Exit 0 when equal, 1 with the differences.")
        {
            ClickHouse,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            if (!parseResult.GetValue(ClickHouse))
            {
                error.WriteLine("tradestore: say what to verify: --clickhouse.");
                return ExitCodes.BadInput;
            }

            var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
            if (ClickHouseCommandSupport.RequireClickHouse(parseResult) is null)
            {
                return ExitCodes.BadInput;
            }

            using var database = ClickHouseCommandSupport.OpenExisting(settings, error);
            if (database is null)
            {
                return ExitCodes.BadInput;
            }

            var reports = new List<VerificationReport>();
            try
            {
                reports.Add(await new ClickHouseVerifier(ClickHouseCommandSupport.Client(settings), database).VerifyAsync(cancellationToken));
            }
            catch (Exception ex) when (ClickHouseCommandSupport.IsClickHouseFailure(ex))
            {
                error.WriteLine($"tradestore: verify --clickhouse could not read ClickHouse: {ex.Message}");
                return ExitCodes.Failure;
            }

            return Print(output, reports) ? ExitCodes.Success : ExitCodes.Failure;
        });
        return command;
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
}
