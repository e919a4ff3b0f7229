using TradeStore.Core.Trades;

namespace TradeStore.Storage.Engine;

/// <summary>
/// Whether the journal log and DuckDB hold one history: the log's record at a seq both hold must be the event DuckDB
/// holds there. Compared: trade, version, type and the time the event was recorded. By design not the payload bytes:
/// DuckDB keeps a decimal at its column's scale, so an event read back from it can encode differently from the log's
/// record although it is the same event; the recording time (whole microseconds, <c>Timestamps.Normalize</c>) reads back
/// unchanged and tells apart two stores that wrote the same trade ids. Checked by the start-up replay
/// (<see cref="JournalLogReplay"/>) and by <c>recover --from duckdb</c> before it keeps the log's records after DuckDB's end.
/// </summary>
internal static class SameHistory
{
    /// <summary>
    /// What tells the two apart at <paramref name="inLog"/>'s seq, as a sentence naming both events; <see langword="null"/>
    /// when they are the same event.
    /// </summary>
    public static string? Difference(TradeEvent inLog, TradeEvent inDuckDb, string databasePath) =>
        inLog.TradeId == inDuckDb.TradeId && inLog.Version == inDuckDb.Version && inLog.Type == inDuckDb.Type && inLog.RecordedAt == inDuckDb.RecordedAt
            ? null
            : $"at seq {inLog.Seq} the journal log holds {Describe(inLog)} but DuckDB ({databasePath}) holds {Describe(inDuckDb)}";

    private static string Describe(TradeEvent e) =>
        $"{e.TradeId} v{e.Version} ({e.Type.ToCode()}, recorded {e.RecordedAt.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'})";
}
