using System.CommandLine;
using System.Globalization;
using TradeStore.Server.Configuration;

namespace TradeStore.Cli;

/// <summary>
/// The open-file limit a command needs to start at all. Below it .NET cannot open the assemblies the command loads as it
/// goes, and the process died with a misleading stack trace ("Could not load file or assembly 'Scalar.AspNetCore' … The
/// system cannot find the file specified", exit 134: <c>serve</c> under <c>ulimit -n 256</c>, every command under 64),
/// which the guard restarted until it gave up (exit 10). Checked before the command runs, so it stops with exit 2 and
/// says which limit to raise; nothing has been opened or changed.
/// </summary>
/// <remarks>
/// Measured on Linux with .NET 10 (2026-12-05): an idle <c>serve</c> holds 275 descriptors (248 of them the assembly
/// files .NET keeps open) and did not start under 270; <c>verify</c>, <c>migrate status</c> and <c>config show</c> ran
/// under 128, not under 96. The floors leave room above those for connections (<see cref="ConnectionLimit"/>) and for
/// what a command opens later (the journal log's next segment, DuckDB's files, sockets).
/// </remarks>
public static class OpenFileFloor
{
    /// <summary><c>serve</c>, and <c>guard</c>, whose child is <c>serve</c> with the same limit.</summary>
    public const long Serve = 320;

    /// <summary>Every other command.</summary>
    public const long Offline = 128;

    /// <summary>
    /// Why <paramref name="command"/> (the command a parse ended at) cannot run in a process that may open
    /// <paramref name="openFiles"/> files; <see langword="null"/> when it can, or when the limit is unknown or unlimited.
    /// </summary>
    public static string? Problem(Command command, long? openFiles)
    {
        if (openFiles is not { } files || command.Parents.FirstOrDefault() is null)
        {
            // The root itself (help, --version) loads next to nothing.
            return null;
        }

        var topLevel = command;
        while (topLevel.Parents.OfType<Command>().FirstOrDefault() is { Parents: var grandParents } parent && grandParents.Any())
        {
            topLevel = parent;
        }

        var serves = topLevel.Name is "serve" or "guard";
        var floor = serves ? Serve : Offline;
        if (files >= floor)
        {
            return null;
        }

        var need = serves
            ? $"{topLevel.Name} needs at least {Number(floor)}: about 280 for the server itself (the assembly files .NET keeps open, DuckDB, the journal log) and the rest for connections"
            : $"{topLevel.Name} needs at least {Number(floor)} (the assembly files .NET keeps open, the database, the journal log)";
        return $"the process may open only {Number(files)} files (its open-file limit: ulimit -n, systemd LimitNOFILE=, docker run --ulimit nofile=); " +
            $"{need}. Raise the limit (deploy/systemd/tradestore.service sets LimitNOFILE=65536) and start again; nothing was opened or changed.";
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
