namespace TradeStore.Core.Options;

/// <summary>
/// What an acknowledgement promises (<c>Storage:Durability</c>). The journal log is written before any command is
/// acknowledged in both modes; they differ only in whether the acknowledgement also waits for the disk.
/// </summary>
public enum DurabilityMode
{
    /// <summary>
    /// Each group commit is <c>fdatasync</c>ed before its commands are acknowledged: an acknowledged trade survives a
    /// process kill, an OS crash and a power loss (as far as the disk honours flushes).
    /// </summary>
    Fsync = 0,

    /// <summary>
    /// The log is written to the operating system's page cache and acknowledged without waiting for the disk: an
    /// acknowledged trade survives <c>kill -9</c> of the process, but an OS crash or power loss can lose the last
    /// acknowledged writes (those the kernel had not yet written back, normally at most ~30 s).
    /// </summary>
    Os = 1,
}
