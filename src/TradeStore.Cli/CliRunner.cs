using System.CommandLine;
using TradeStore.Core.Migrations;
using TradeStore.Server.Configuration;
using TradeStore.Storage;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Integrity;

namespace TradeStore.Cli;

/// <summary>Runs a command and turns the failures an operator can act on into one clear line and an exit code.</summary>
public static partial class CliRunner
{
    /// <param name="cancellationToken">
    /// Cancels the command's action (its token): a program that handles SIGINT/SIGTERM itself (<c>tradestore-bench</c>)
    /// passes its own; the action then stops, runs its clean-up, and this returns <see cref="ExitCodes.Failure"/> with one line.
    /// </param>
    public static async Task<int> RunAsync(RootCommand root, string[] args, TextWriter? output = null, TextWriter? error = null, CancellationToken cancellationToken = default)
    {
        var configuration = new InvocationConfiguration
        {
            // The web host handles SIGTERM/SIGINT itself and drains gracefully; System.CommandLine's own
            // handler would cut that short after its 2-second default.
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
            Output = StandardStreams.Guarded(output ?? StandardStreams.Output()),
            Error = StandardStreams.Lenient(error ?? Console.Error),
        };

        // The name the program was run by (RootCommand's executable name): tradestore, or tradestore-bench for the benchmarks.
        var program = root.Name;
        try
        {
            var parseResult = root.Parse(args);
            if (parseResult.Errors.Count > 0 && args.Length > 0)
            {
                return ParseFailed(parseResult, program, configuration.Error);
            }

            if (parseResult.Action is System.CommandLine.Help.HelpAction && parseResult.UnmatchedTokens.Count > 0)
            {
                // --help hides System.CommandLine's parse errors: "tradestore bench --help" printed the root's help and
                // exited 0, as if bench were a command. A word it does not know is the same mistake with --help or without.
                return UnknownWords(parseResult, program, configuration.Error);
            }

            if (parseResult.Action is not System.CommandLine.Help.HelpAction
                && OpenFileFloor.Problem(parseResult.CommandResult.Command, ConnectionLimit.OpenFiles()) is { } tooFewFiles)
            {
                return Fail(program, configuration.Error, tooFewFiles, ExitCodes.BadInput);
            }

            var exitCode = await parseResult.InvokeAsync(configuration, cancellationToken);
            // System.CommandLine reports a parse error with 1; the documented code for a bad command line is 2.
            return parseResult.Errors.Count > 0 && exitCode == ExitCodes.Failure ? ExitCodes.BadInput : exitCode;
        }
        catch (StandardOutputException ex)
        {
            // The reader of a pipe went away (`| head -1`): stop quietly, as Unix tools do on SIGPIPE. Otherwise (a full
            // disk, a closed file) say so: what was printed is incomplete.
            return ex.ReaderGone ? ExitCodes.OutputFailed : Fail(program, configuration.Error, $"{ex.Message}; the output is incomplete.", ExitCodes.OutputFailed);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Fail(program, configuration.Error, "stopped before the command finished; what it printed is incomplete.", ExitCodes.Failure);
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is HttpRequestException or IOException)
        {
            // Stopping is what failed it: a request still in flight when the signal came (the bench against a server that
            // went away: "Connection refused" ended tradestore-bench with an unhandled exception instead of its exit code).
            return Fail(program, configuration.Error, $"stopped before the command finished ({ex.Message}); what it printed is incomplete.", ExitCodes.Failure);
        }
        catch (CommandFailedException ex)
        {
            return Fail(program, configuration.Error, ex.Message, ExitCodes.Failure);
        }
        catch (Server.Security.ListenAddressInUseException ex)
        {
            return Fail(program, configuration.Error, ex.Message, ExitCodes.Failure);
        }
        catch (ConfigurationException ex)
        {
            return Fail(program, configuration.Error, $"configuration error: {ex.Message}", ExitCodes.BadInput);
        }
        catch (DatabaseLockedException ex)
        {
            return Fail(program, configuration.Error, ex.Message, ExitCodes.DatabaseLocked);
        }
        catch (DatabaseOpenException ex)
        {
            return Fail(program, configuration.Error, ex.Message, ExitCodes.DatabaseDamaged);
        }
        catch (IntegrityException ex)
        {
            return Fail(program, configuration.Error, $"refusing to start: {ex.Message}", ExitCodes.IntegrityFailed);
        }
        catch (JournalBehindSinksException ex)
        {
            return Fail(program, configuration.Error, $"refusing to start: {ex.Message}", ExitCodes.IntegrityFailed);
        }
        catch (JournalLogCorruptException ex)
        {
            return Fail(program, configuration.Error, $"refusing to start: {ex.Message}", ExitCodes.IntegrityFailed);
        }
        catch (MigrationException ex)
        {
            // Drift, a newer schema, pending migrations with AutoMigrate off, or a failed script: 1; an impossible --to: 2.
            return Fail(program, configuration.Error, ex.Message, ex.Kind == MigrationErrorKind.InvalidRequest ? ExitCodes.BadInput : ExitCodes.Failure);
        }
    }

    /// <summary>
    /// A command line that does not parse: each error on a line of its own, in the words an operator reads, and where the
    /// usage is, instead of System.CommandLine's whole help text on the standard output followed by a bare message.
    /// (With no arguments at all the help is what the caller wants, so that keeps System.CommandLine's answer.)
    /// </summary>
    private static int ParseFailed(ParseResult parseResult, string program, TextWriter error)
    {
        // "tradestore bogus" is one mistake: the unknown word, not also a missing command.
        var errors = parseResult.Errors.Select(e => e.Message).ToList();
        if (errors.Count > 1 && errors.Any(m => m.StartsWith("Unrecognized command", StringComparison.Ordinal)))
        {
            errors.RemoveAll(m => m.StartsWith("Required command was not provided", StringComparison.Ordinal));
        }

        foreach (var message in errors)
        {
            var worded = ExpectedType().Replace(message, match => $"as {Expected(match.Groups[1].Value)}");
            error.WriteLine($"{program}: {OnOneLine(worded)}");
        }

        error.WriteLine($"Run '{CommandPath(parseResult, program)} --help' for usage.");
        return ExitCodes.BadInput;
    }

    /// <summary>The words of the command that was parsed, from the program's name: "tradestore redis rebuild".</summary>
    private static string CommandPath(ParseResult parseResult, string program)
    {
        var names = new List<string>();
        for (var result = parseResult.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Insert(0, result.Parent is null ? program : result.Command.Name);
        }

        return string.Join(' ', names);
    }

    private static int UnknownWords(ParseResult parseResult, string program, TextWriter error)
    {
        foreach (var word in parseResult.UnmatchedTokens)
        {
            error.WriteLine($"{program}: Unrecognized command or argument '{word}'.");
        }

        error.WriteLine($"Run '{CommandPath(parseResult, program)} --help' for usage.");
        return ExitCodes.BadInput;
    }

    /// <summary>System.CommandLine's "as expected type 'System.Nullable`1[System.Int32]'", said as what to type instead.</summary>
    private static string Expected(string type) => type switch
    {
        _ when type.Contains("Int", StringComparison.Ordinal) => "a whole number",
        _ when type.Contains("Double", StringComparison.Ordinal) || type.Contains("Decimal", StringComparison.Ordinal) => "a number",
        _ => $"a {type.Replace("System.", "", StringComparison.Ordinal)}",
    };

    [System.Text.RegularExpressions.GeneratedRegex(@"as expected type '([^']+)'")]
    private static partial System.Text.RegularExpressions.Regex ExpectedType();

    /// <summary>System.CommandLine's "Must be one of:" list, one tab-indented line per value, said on the error's own line.</summary>
    private static string OnOneLine(string message) => ListedValue().Replace(ListStart().Replace(message, ": "), ", ").TrimEnd();

    [System.Text.RegularExpressions.GeneratedRegex(@":[ ]*\r?\n\t")]
    private static partial System.Text.RegularExpressions.Regex ListStart();

    [System.Text.RegularExpressions.GeneratedRegex(@"[ ]*\r?\n\t")]
    private static partial System.Text.RegularExpressions.Regex ListedValue();

    private static int Fail(string program, TextWriter error, string message, int exitCode)
    {
        error.WriteLine($"{program}: {message}");
        return exitCode;
    }
}
