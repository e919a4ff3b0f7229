using TradeStore.Storage.CommitLog;

namespace TradeStore.Storage.Engine;

/// <summary>
/// The <see cref="WriteEngine"/>'s hook for replication of the journal log (issue #14), registered only on a cluster
/// node. The engine stamps each record with <see cref="Term"/>, tells <see cref="Appended"/> of every group as soon as it is
/// written (so followers' streams get it at once), and answers a group's callers only when <see cref="WaitReplicatedAsync"/>
/// says enough followers hold it: one wait per group commit, never per write.
/// </summary>
public interface IJournalReplication
{
    /// <summary>The leadership term to write into the records this node appends as leader.</summary>
    long Term { get; }

    /// <summary>
    /// Called on the writer thread once <paramref name="records"/> are written to the local log and before its fsync,
    /// under the log's lock: the followers' fsyncs then run alongside this node's. They are not durable here yet; the
    /// engine answers a group only after its own fsync and <see cref="WaitReplicatedAsync"/>.
    /// </summary>
    void Appended(IReadOnlyList<LogRecord> records);

    /// <summary>
    /// Completes with <see langword="true"/> once the required followers acknowledged <paramref name="seq"/> in
    /// <paramref name="term"/> (at once when none are required), or <see langword="false"/> when that did not happen
    /// within the replication timeout: the group is then answered <c>replication-unavailable</c>.
    /// </summary>
    Task<bool> WaitReplicatedAsync(long seq, long term);
}
