namespace TradeStore.Storage.CommitLog;

/// <summary>
/// The journal log is damaged where a crash cannot have damaged it (a bad record with intact records after it, a
/// damaged sealed segment, missing records between segments) or lacks records DuckDB does not hold either. Start-up
/// stops (exit 5); no journal file was changed or deleted, so the operator chooses between setting the files aside and
/// a recovery source. (DuckDB was opened before the log, as at every start: a crash's WAL is folded into the database
/// file, after a copy went to <c>wal-backups/</c>.)
/// </summary>
public sealed class JournalLogCorruptException : Exception
{
    public JournalLogCorruptException(string file, long offset, string reason)
        : base($"the journal log is damaged: {file} at byte offset {offset}: {reason}. No journal file was changed or deleted. " +
               "When DuckDB already holds the damaged events, 'tradestore recover --from duckdb' rebuilds the log from it and the log's " +
               "intact records (it checks first and changes nothing otherwise). Else restore the data directory from a backup, or rebuild it " +
               "from a recovery source with 'tradestore recover --from clickhouse --set-aside' (or '--from redis'), which moves the damaged files aside.")
    {
        File = file;
        Offset = offset;
        Reason = reason;
    }

    public JournalLogCorruptException()
        : this("(unknown)", 0, "unknown damage")
    {
    }

    public JournalLogCorruptException(string message)
        : base(message)
    {
        File = "(unknown)";
        Reason = message;
    }

    public JournalLogCorruptException(string message, Exception innerException)
        : base(message, innerException)
    {
        File = "(unknown)";
        Reason = message;
    }

    /// <summary>The segment file (or the database) concerned.</summary>
    public string File { get; }

    /// <summary>Byte offset of the first damaged byte in <see cref="File"/>.</summary>
    public long Offset { get; }

    /// <summary>What is wrong there.</summary>
    public string Reason { get; }
}
