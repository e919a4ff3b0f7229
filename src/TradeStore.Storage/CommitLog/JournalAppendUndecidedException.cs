namespace TradeStore.Storage.CommitLog;

/// <summary>
/// An append failed after its records were written to the segment and could not be taken back: they were handed on to
/// the followers before the sync failed, or cutting them out again failed too. The log accepts no more appends
/// (<see cref="JournalLog.IsBroken"/>), and the records may be in it at the next start, which then replays them: whether
/// they were written is unknown, unlike a failed append that leaves nothing.
/// </summary>
public sealed class JournalAppendUndecidedException : IOException
{
    public JournalAppendUndecidedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public JournalAppendUndecidedException()
    {
    }

    public JournalAppendUndecidedException(string message)
        : base(message)
    {
    }
}
