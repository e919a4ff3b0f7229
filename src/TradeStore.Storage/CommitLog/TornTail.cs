namespace TradeStore.Storage.CommitLog;

/// <summary>
/// What <see cref="JournalLog.Open"/> cut from the end of the last segment: a record a crash left half-written (its
/// append was never acknowledged, since the fsync had not returned). The cut bytes are kept in <see cref="PreservedAs"/>.
/// </summary>
/// <param name="File">The segment.</param>
/// <param name="Offset">Where the whole records end and the cut began.</param>
/// <param name="Bytes">How many bytes were cut.</param>
/// <param name="PreservedAs">The file that keeps the cut bytes.</param>
public sealed record TornTail(string File, long Offset, long Bytes, string PreservedAs);
