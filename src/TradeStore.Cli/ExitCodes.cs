namespace TradeStore.Cli;

/// <summary>Process exit codes of <c>tradestore</c>; scripts and supervisors key on them, so they never change meaning.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The command ran and found a problem (for example drift or a failed check).</summary>
    public const int Failure = 1;

    /// <summary>Bad command line or configuration; nothing was changed.</summary>
    public const int BadInput = 2;

    /// <summary>The database is locked by another process.</summary>
    public const int DatabaseLocked = 3;

    /// <summary>DuckDB could not open or replay the database file.</summary>
    public const int DatabaseDamaged = 4;

    /// <summary>The journal and the current state disagree (integrity check); nothing was changed.</summary>
    public const int IntegrityFailed = TradeStore.Guard.GuardExitCodes.ChildIntegrityRefusal;

    /// <summary>
    /// <c>serve</c> as a cluster follower: its journal log holds records the leader does not (a divergent tail); it
    /// stopped rather than follow a different history (issue #14). The log names the seq range.
    /// </summary>
    public const int LogDiverged = Server.Cluster.ReplicationFollower.DivergedExitCode;

    /// <summary>
    /// <c>serve</c>: the write engine failed for good (an internal error, or a journal log that can no longer be appended
    /// to); the server stopped so the guard restarts it and, in a cluster, another node leads.
    /// </summary>
    public const int EngineFailed = Server.Lifetime.EngineFailureStop.EngineFailedExitCode;

    /// <summary>
    /// Standard output could not be written (a full disk, a closed file: one line on stderr), or the reader of its pipe
    /// went away (<c>| head -1</c>: quietly); the command stopped there.
    /// </summary>
    public const int OutputFailed = 8;

    /// <summary><c>tradestore guard</c> gave up: the child needed more than MaxR restarts within MaxT.</summary>
    public const int GuardGaveUp = TradeStore.Guard.GuardExitCodes.GaveUp;
}
