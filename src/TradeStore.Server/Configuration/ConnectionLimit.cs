using System.Globalization;

namespace TradeStore.Server.Configuration;

/// <summary>
/// The default of <c>Kestrel:Limits:MaxConcurrentConnections</c>: what the process's open-file limit leaves after a
/// reserve for everything else the server opens. Kestrel's own default is no limit, and a connection needs no key:
/// anyone who reaches the port could open connections until every file descriptor was taken, and the .NET runtime
/// then aborts the whole process ("Internal CLR error", found by opening 19,990 connections to a server whose limit
/// was 20,000). With the limit, Kestrel closes a connection past it at once and the server goes on.
/// </summary>
/// <remarks>
/// The reserve is a quarter of the limit, at least 1,024 descriptors (an idle server holds about 300: its assemblies,
/// DuckDB, the journal log, sockets to Redis, ClickHouse and etcd); a limit below twice that leaves half of it to
/// connections, but never more than the limit less <see cref="ServerFiles"/>, and at least <see cref="MinConnections"/>.
/// (Until 2026-12-05 half of any small limit went to connections: under <c>ulimit -n 512</c> 256 of them, beside the
/// 275 descriptors an idle server holds, and 500 idle connections aborted the process, "Out of memory.", exit 134; so
/// did <c>ulimit -n 384</c>.) The limit read is the one in force once .NET has started, which raises the soft limit to
/// the hard one.
/// </remarks>
public static class ConnectionLimit
{
    /// <summary>Descriptors kept for the server's own files and sockets, at least.</summary>
    public const long MinReserve = 1024;

    /// <summary>
    /// Descriptors kept for the server's own use under a small limit: an idle <c>serve</c> held 275 (measured on Linux with
    /// .NET 10; 248 of them the assembly files .NET keeps open), and rolling the journal log over, DuckDB's files and the
    /// sockets to Redis, ClickHouse and etcd need more.
    /// </summary>
    public const long ServerFiles = 384;

    /// <summary>
    /// Below this open-file limit start-up warns (event 1212): a burst of connections past the limit is accepted before each
    /// is closed, and took up to 80 descriptors beyond it (500 opened at once: 450 of 512 in use, 383 of 384).
    /// </summary>
    public const long AdvisedOpenFiles = 1024;

    /// <summary>Connections allowed however small the limit (a limit <c>serve</c> starts under: <c>OpenFileFloor</c>).</summary>
    public const long MinConnections = 16;

    /// <summary>The default for a process that may open <paramref name="openFiles"/> files.</summary>
    public static long For(long openFiles)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(openFiles, 2);
        var reserve = Math.Max(MinReserve, openFiles / 4);
        return openFiles > 2 * reserve ? openFiles - reserve : Math.Max(MinConnections, Math.Min(openFiles / 2, openFiles - ServerFiles));
    }

    /// <summary>
    /// The limit in force as start-up logs it (event 1211). By design its own wording for no limit (an empty
    /// <c>Kestrel:Limits:MaxConcurrentConnections</c>): "at most unlimited at once; one more is closed" said the opposite.
    /// </summary>
    public static string Describe(long? maxConnections) => maxConnections is { } max
        ? $"at most {max.ToString(CultureInfo.InvariantCulture)} at once, one more is closed as it arrives"
        : "no limit, none is closed";

    /// <summary>The default for this process, or <see langword="null"/> (no limit) when its open-file limit is unlimited or unknown.</summary>
    public static long? Default() => OpenFiles() is { } openFiles ? For(openFiles) : null;

    /// <summary>The soft limit of open files (<c>RLIMIT_NOFILE</c>) from <c>/proc/self/limits</c>; <see langword="null"/> when unlimited or not Linux.</summary>
    public static long? OpenFiles()
    {
        const string path = "/proc/self/limits";
        if (!OperatingSystem.IsLinux() || !File.Exists(path))
        {
            return null;
        }

        // "Max open files            20000                20000                files"
        var line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var soft = line?["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return long.TryParse(soft, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 2 ? value : null;
    }
}
