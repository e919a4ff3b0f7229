using System.CommandLine;
using TradeStore.Server.Configuration;
using TradeStore.Storage;

namespace TradeStore.Cli;

/// <summary>Runs a command and turns the failures an operator can act on into one clear line and an exit code.</summary>
public static class CliRunner
{
    public static async Task<int> RunAsync(RootCommand root, string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        var configuration = new InvocationConfiguration
        {
            // The web host handles SIGTERM/SIGINT itself and drains gracefully; System.CommandLine's own
            // handler would cut that short after its 2-second default.
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
            Output = output ?? Console.Out,
            Error = error ?? Console.Error,
        };

        try
        {
            return await root.Parse(args).InvokeAsync(configuration);
        }
        catch (ConfigurationException ex)
        {
            return Fail(configuration.Error, $"configuration error: {ex.Message}", ExitCodes.BadInput);
        }
        catch (DatabaseLockedException ex)
        {
            return Fail(configuration.Error, ex.Message, ExitCodes.DatabaseLocked);
        }
        catch (DatabaseOpenException ex)
        {
            return Fail(configuration.Error, ex.Message, ExitCodes.DatabaseDamaged);
        }
    }

    private static int Fail(TextWriter error, string message, int exitCode)
    {
        error.WriteLine($"tradestore: {message}");
        return exitCode;
    }
}
