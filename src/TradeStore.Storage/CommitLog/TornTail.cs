namespace TradeStore.Storage.CommitLog;

/// <summary>
/// What <see cref="JournalLog.Open"/> cut from the end of the last segment: a record a crash left half-written (its
/// append was never acknowledged, since the fsync had not returned). The cut bytes are kept in <see cref="PreservedAs"/>.
/// </summary>
/// <param name="File">The segment.</param>
/// <param name="Offset">Where the cut began: the end of the last whole record, or in a pre-zeroed segment the first
/// written byte after the zeros that follow it (a record header that never reached the disk).</param>
/// <param name="Bytes">How many bytes were cut (in a pre-zeroed segment: to the end of the 4 KiB page of the last written
/// byte; they are overwritten with zeros and the file keeps its size).</param>
/// <param name="PreservedAs">The file that keeps the cut bytes.</param>
public sealed record TornTail(string File, long Offset, long Bytes, string PreservedAs);
