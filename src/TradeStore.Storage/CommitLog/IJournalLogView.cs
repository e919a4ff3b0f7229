namespace TradeStore.Storage.CommitLog;

/// <summary>
/// What reconciling the journal log with DuckDB reads of a log (<see cref="Engine.JournalLogReplay.Plan"/>): the open
/// <see cref="JournalLog"/> at start-up, or the read-only <see cref="JournalLogCheck"/> of <c>tradestore verify</c>.
/// </summary>
public interface IJournalLogView
{
    /// <summary>The folder of the segments.</summary>
    string Directory { get; }

    /// <summary>Whether the folder did not exist (a new data directory, or one written before the log existed).</summary>
    bool WasCreated { get; }

    /// <summary>Whether the log has no segment.</summary>
    bool IsEmpty { get; }

    /// <summary>The oldest seq the log holds (1 when it holds no segment).</summary>
    long FirstSeq { get; }

    /// <summary>The last seq the log holds; 0 when it holds no segment.</summary>
    long LastSeq { get; }

    /// <summary>Segment files, oldest first.</summary>
    IReadOnlyList<string> SegmentFiles { get; }

    /// <summary>The records from <paramref name="seq"/> to <see cref="LastSeq"/>, in order.</summary>
    IEnumerable<LogRecord> ReadFrom(long seq);
}
