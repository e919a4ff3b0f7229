using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using TradeStore.Core.Diagnostics;
using TradeStore.Core.Options;
using TradeStore.Guard;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore guard [options] -- serve [serve options]</c>: DaemonGuard, which runs <c>serve</c> as a child
/// process and keeps it running (restart on crash or hang, backoff, give up to escalate).
/// </summary>
public static class GuardCommand
{
    private static readonly GuardOptions Defaults = new() { Command = new ChildCommand("tradestore", []), ProbeUrl = new Uri("http://127.0.0.1:5080/health/live") };

    private static readonly Option<string?> ProbeUrl = new("--probe-url")
    {
        Description = "Liveness URL to probe. Default: /health/live on the child's first --urls / Server:Urls address (wildcard hosts probed on loopback).",
        HelpName = "URL",
    };

    private static readonly Option<string?> ProbeInterval = Duration("--probe-interval", "Time between liveness probes", Defaults.ProbeInterval);
    private static readonly Option<string?> ProbeTimeout = Duration("--probe-timeout", "A probe without an answer within this time fails", Defaults.ProbeTimeout);
    private static readonly Option<int?> ProbeFailures = Count("--probe-failures", "Consecutive failed probes after which the child counts as hung and is restarted", Defaults.ProbeFailures);
    private static readonly Option<string?> StartupTimeout = Duration("--startup-timeout", "How long a new child may take to answer its first probe before it is restarted", Defaults.StartupTimeout);
    private static readonly Option<string?> BackoffMin = Duration("--backoff-min", "First delay before a restart; each further restart doubles it (less up to 25% jitter)", Defaults.BackoffMin);
    private static readonly Option<string?> BackoffMax = Duration("--backoff-max", "Longest delay before a restart", Defaults.BackoffMax);
    private static readonly Option<int?> MaxRestarts = Count("--max-restarts", "Restarts allowed within --restart-window; one more and the guard gives up with exit code 10", Defaults.MaxRestarts);
    private static readonly Option<string?> RestartWindow = Duration("--restart-window", "The window of --max-restarts", Defaults.RestartWindow);
    private static readonly Option<string?> GracePeriod = Duration("--grace-period", "After SIGTERM, how long the child may take to exit before SIGKILL", Defaults.GracePeriod);
    private static readonly Option<string?> HealthyReset = Duration("--healthy-reset", "After the child has answered every probe for this long, the backoff starts again at --backoff-min", Defaults.HealthyReset);

    private static readonly Option<string?> StatusFilePath = new("--status-file")
    {
        Description = "JSON status (guard and child pid, state, restarts, last exit, last probe), rewritten on every change. Default DIR/tradestore-guard.json in the child's data directory.",
        HelpName = "FILE",
    };

    private static readonly Argument<string[]> ChildArguments = new("command")
    {
        Description = "After --: the command to supervise, `serve` and its options.",
        Arity = ArgumentArity.ZeroOrMore,
    };

    public static Command Create()
    {
        var command = new Command("guard", """
            Run `tradestore serve` as a supervised child process (DaemonGuard). The guard forwards SIGTERM/SIGINT/SIGHUP and
            waits --grace-period for a graceful exit (then SIGKILL); probes the child's /health/live; restarts it when it exits with
            a non-zero code other than 2 or 5 or dies of a signal, or fails --probe-failures probes in a row (a hang), with
            exponential backoff and jitter; and gives up with exit code 10 after more than --max-restarts restarts within
            --restart-window, so systemd or Kubernetes can escalate. A child that exits 0 by itself was stopped on purpose: the
            guard exits 0 too. A child that exits 2 (bad command line or configuration) or 5 (it refuses a journal it cannot
            trust; recover first) is not restarted, since a restart cannot heal it: the guard exits with the same code.
            Durations: 250ms, 5s, 2m, 1h, or hh:mm:ss, at most 24 days. Exit codes: 0 stopped, 1 the child did not stop cleanly (killed, or a
            failure code), 2 bad command line (the guard's or the child's), 5 the child refused its journal, 10 gave up.
            Example: tradestore guard --max-restarts 5 --restart-window 30s -- serve --data /var/lib/tradestore
            """)
        {
            ProbeUrl, ProbeInterval, ProbeTimeout, ProbeFailures, StartupTimeout, BackoffMin, BackoffMax,
            MaxRestarts, RestartWindow, GracePeriod, HealthyReset, StatusFilePath, ChildArguments,
        };
        command.SetAction(RunAsync);
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var error = parseResult.InvocationConfiguration.Error;
        var errors = new List<string>();
        var childArguments = parseResult.GetValue(ChildArguments) ?? [];
        if (childArguments.Length == 0 || childArguments[0] != "serve")
        {
            errors.Add(UnknownOption(parseResult) is { } unknown
                ? $"unknown option '{unknown}' (see tradestore guard --help); the command to supervise goes after --: tradestore guard [options] -- serve [serve options]"
                : "the command to supervise goes after --, and must be serve: tradestore guard [options] -- serve [serve options]");
            return Fail(error, errors);
        }

        childArguments = ForwardCommonOptions(parseResult, childArguments, errors);
        if (errors.Count > 0)
        {
            return Fail(error, errors);
        }
        var (listenUrls, dataDirectory) = ReadChildSettings(childArguments);

        Uri? probeUrl;
        if (parseResult.GetValue(ProbeUrl) is { } explicitUrl)
        {
            probeUrl = Uri.TryCreate(explicitUrl, UriKind.Absolute, out var parsed) ? parsed : null;
            if (probeUrl is null)
            {
                errors.Add($"--probe-url: '{explicitUrl}' is not an absolute URL.");
            }
        }
        else
        {
            probeUrl = ProbeAddress.FromListenUrls(listenUrls);
            if (probeUrl is null)
            {
                errors.Add($"cannot derive a probe URL from the listen addresses '{listenUrls}'; give --probe-url.");
            }
        }

        var options = new GuardOptions
        {
            Command = ChildCommand.ForThisProgram(childArguments),
            ProbeUrl = probeUrl ?? Defaults.ProbeUrl,
            ProbeInterval = ReadDuration(parseResult, ProbeInterval, Defaults.ProbeInterval, errors),
            ProbeTimeout = ReadDuration(parseResult, ProbeTimeout, Defaults.ProbeTimeout, errors),
            ProbeFailures = parseResult.GetValue(ProbeFailures) ?? Defaults.ProbeFailures,
            StartupTimeout = ReadDuration(parseResult, StartupTimeout, Defaults.StartupTimeout, errors),
            BackoffMin = ReadDuration(parseResult, BackoffMin, Defaults.BackoffMin, errors),
            BackoffMax = ReadDuration(parseResult, BackoffMax, Defaults.BackoffMax, errors),
            MaxRestarts = parseResult.GetValue(MaxRestarts) ?? Defaults.MaxRestarts,
            RestartWindow = ReadDuration(parseResult, RestartWindow, Defaults.RestartWindow, errors),
            GracePeriod = ReadDuration(parseResult, GracePeriod, Defaults.GracePeriod, errors),
            HealthyReset = ReadDuration(parseResult, HealthyReset, Defaults.HealthyReset, errors),
            StatusFile = parseResult.GetValue(StatusFilePath) ?? Path.Combine(dataDirectory, "tradestore-guard.json"),
        };
        errors.AddRange(options.Validate());
        if (errors.Count > 0)
        {
            return Fail(error, errors);
        }

        using var loggerFactory = LoggerFactory.Create(logging => logging
            .SetMinimumLevel(LogLevel.Information)
            .AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                console.UseUtcTimestamp = true;
            }));
        using var supervisor = new Supervisor(options, loggerFactory.CreateLogger("TradeStore.Guard"));
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => Forward(context, supervisor, TradeStore.Guard.PosixSignals.SigTerm));
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => Forward(context, supervisor, TradeStore.Guard.PosixSignals.SigInt));
        // A closed terminal (or a `kill -HUP` meant as a reload, which TradeStore has none of) stops it the same way; by
        // default the runtime ended the guard at once, silently, with its status file still saying "running". Ignored
        // (nohup) it stays ignored: the runtime installs no handler over SIG_IGN.
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context => Forward(context, supervisor, TradeStore.Guard.PosixSignals.SigHup));

        var outcome = await supervisor.RunAsync(cancellationToken);
        var exitCode = outcome switch
        {
            GuardOutcome.Stopped or GuardOutcome.StoppedWhileWaiting or GuardOutcome.ChildExitedCleanly => ExitCodes.Success,
            GuardOutcome.StoppedForcefully or GuardOutcome.StoppedWithError => ExitCodes.Failure,
            GuardOutcome.ChildConfigurationError => ExitCodes.BadInput,
            GuardOutcome.ChildIntegrityRefusal => ExitCodes.IntegrityFailed,
            _ => ExitCodes.GuardGaveUp,
        };
        if (outcome == GuardOutcome.ChildConfigurationError)
        {
            error.WriteLine($"tradestore: guard: the child refused its configuration (exit {ExitCodes.BadInput}); not restarting it. Correct the configuration and start again.");
        }

        if (outcome == GuardOutcome.ChildIntegrityRefusal)
        {
            error.WriteLine($"tradestore: guard: the child refused to start on a journal it cannot trust (exit {ExitCodes.IntegrityFailed}); not restarting it, as every start would meet the same refusal. Run the recover command its message names (docs/operations.md, \"Recover\"), then start again.");
        }

        if (outcome == GuardOutcome.GaveUp)
        {
            error.WriteLine($"tradestore: guard: gave up: the child needed more than {options.MaxRestarts} restarts within {Durations.Format(options.RestartWindow)}; exiting with code {exitCode}.");
        }

        return exitCode;
    }

    private static void Forward(PosixSignalContext context, Supervisor supervisor, int signal)
    {
        // By design the guard outlives the signal: it stops the child first and exits when the child has.
        context.Cancel = true;
        supervisor.RequestStop(signal);
    }

    /// <summary>
    /// The guard's own <c>--config</c>/<c>--data</c> (given before <c>--</c>) are passed on to the child. By design the same
    /// option on both sides with different values is refused (added to <paramref name="errors"/>): the child's used to win
    /// silently, so <c>guard --data A -- serve --data B</c> supervised B while its operator meant A. The same value twice is
    /// fine.
    /// </summary>
    private static string[] ForwardCommonOptions(ParseResult parseResult, string[] childArguments, List<string> errors)
    {
        var childParse = ParseChild(childArguments);
        if (childParse.Errors.Count > 0)
        {
            // By design refused here, before any value is read: reading an option serve cannot parse (`--data A --data B`)
            // throws, which ended the guard with an unhandled exception, a stack trace and exit 134. serve itself would
            // exit 2 on this command line, which the guard never restarts, so refusing it at once changes no outcome.
            errors.AddRange(childParse.Errors.Select(parseError => $"serve: {parseError.Message} (see tradestore serve --help)"));
            return childArguments;
        }

        var forwarded = new List<string>(childArguments);
        foreach (var option in new[] { CommonOptions.Config, CommonOptions.Data })
        {
            if (parseResult.GetValue(option) is not { } value)
            {
                continue;
            }

            if (childParse.GetResult(option) is null)
            {
                forwarded.Insert(1, value);
                forwarded.Insert(1, option.Name);
            }
            else if (childParse.GetValue(option) is { } childValue && !SamePath(value, childValue))
            {
                errors.Add($"{option.Name} is given both before -- ('{value}') and after it, to serve ('{childValue}'); give it once (before --, it is passed on to serve).");
            }
        }

        return [.. forwarded];
    }

    /// <summary>Whether two spellings name the same file or directory (<c>data</c>, <c>./data/</c>, the absolute path).</summary>
    private static bool SamePath(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)), Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)), StringComparison.Ordinal);

    /// <summary>
    /// An option the guard does not know, given before <c>--</c>. Such a token is not a parse error: the supervised command's
    /// arguments take any token, so the guard used to answer "must be serve" for <c>guard --bogus 1</c>.
    /// </summary>
    private static string? UnknownOption(ParseResult parseResult) =>
        parseResult.Tokens.TakeWhile(token => token.Type != TokenType.DoubleDash)
            .FirstOrDefault(token => token.Type == TokenType.Argument && token.Value.StartsWith('-'))?.Value;

    /// <summary>The child's command line as <c>serve</c> will parse it.</summary>
    private static ParseResult ParseChild(string[] childArguments) =>
        new RootCommand { CommonOptions.Config, CommonOptions.Data, ServeCommand.Create() }.Parse(childArguments);

    /// <summary>
    /// The child's listen addresses and data directory, read from the same layered configuration it will read.
    /// By design only these two keys: validating the rest is the child's job, and a bad value there is a crash the guard reports.
    /// </summary>
    private static (string ListenUrls, string DataDirectory) ReadChildSettings(string[] childArguments)
    {
        var childParse = ParseChild(childArguments);
        var flags = new Dictionary<string, string?>();
        if (childParse.GetValue<string?>("--urls") is { } urls)
        {
            flags[$"{ServerOptions.SectionName}:{nameof(ServerOptions.Urls)}"] = urls;
        }

        var configuration = CommonOptions.BuildConfiguration(childParse, flags);
        var listenUrls = configuration[$"{ServerOptions.SectionName}:{nameof(ServerOptions.Urls)}"] ?? new ServerOptions().Urls;
        var dataDirectory = configuration[$"{StorageOptions.SectionName}:{nameof(StorageOptions.DataDirectory)}"] ?? new StorageOptions().DataDirectory;
        return (listenUrls, dataDirectory);
    }

    private static TimeSpan ReadDuration(ParseResult parseResult, Option<string?> option, TimeSpan fallback, List<string> errors)
    {
        var text = parseResult.GetValue(option);
        if (text is null)
        {
            return fallback;
        }

        if (Durations.TryParse(text, out var value))
        {
            return value;
        }

        errors.Add($"{option.Name}: '{text}' is not a duration (examples: 250ms, 5s, 2m, 00:00:30).");
        return fallback;
    }

    private static Option<string?> Duration(string name, string description, TimeSpan fallback) => new(name)
    {
        Description = $"{description}. Default {Durations.Format(fallback)}.",
        HelpName = "DURATION",
    };

    private static Option<int?> Count(string name, string description, int fallback) => new(name)
    {
        Description = $"{description}. Default {fallback}.",
        HelpName = "N",
    };

    private static int Fail(TextWriter error, List<string> errors)
    {
        foreach (var message in errors)
        {
            error.WriteLine($"tradestore: guard: {message}");
        }

        return ExitCodes.BadInput;
    }
}
