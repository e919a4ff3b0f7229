using TradeStore.Storage.CommitLog;

namespace TradeStore.Storage.Engine;

/// <summary>
/// The <see cref="WriteEngine"/>'s hook for replication of the journal log (issue #14), registered only on a cluster
/// node. The engine stamps each record with <see cref="Term"/>, tells <see cref="Appended"/> of every durable group
/// (so followers' streams get it at once), and answers a group's callers only when <see cref="WaitReplicatedAsync"/>
/// says enough followers hold it: one wait per group commit, never per write.
/// </summary>
public interface IJournalReplication
{
    /// <summary>The leadership term to write into the records this node appends as leader.</summary>
    long Term { get; }

    /// <summary>Called on the writer thread right after <paramref name="records"/> became durable in the local log.</summary>
    void Appended(IReadOnlyList<LogRecord> records);

    /// <summary>
    /// Completes with <see langword="true"/> once the required followers acknowledged <paramref name="seq"/> in
    /// <paramref name="term"/> (at once when none are required), or <see langword="false"/> when that did not happen
    /// within the replication timeout: the group is then answered <c>replication-unavailable</c>.
    /// </summary>
    Task<bool> WaitReplicatedAsync(long seq, long term);
}
