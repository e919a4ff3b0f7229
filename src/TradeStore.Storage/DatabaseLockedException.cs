namespace TradeStore.Storage;

/// <summary>
/// The database file is held by another process. DuckDB allows one writing process per file,
/// so a second <c>tradestore</c> on the same data directory must stop here, not wait or retry.
/// </summary>
public sealed class DatabaseLockedException(string path, int? holderPid, string duckDbMessage, Exception inner)
    : Exception(Describe(path, holderPid), inner)
{
    public string DatabasePath { get; } = path;

    /// <summary>The process that holds the lock, when DuckDB reports it.</summary>
    public int? HolderPid { get; } = holderPid;

    public string DuckDbMessage { get; } = duckDbMessage;

    private static string Describe(string path, int? pid) =>
        pid is { } p
            ? $"The database {path} is locked by another process (PID {p}). Stop that process or point --data at another directory."
            : $"The database {path} is locked by another process. Stop that process or point --data at another directory.";
}
