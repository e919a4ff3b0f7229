using System.Globalization;

namespace TradeStore.Storage.Integrity;

/// <summary>Where a derived store stands: its name (<c>redis</c>, <c>clickhouse</c>) and the last journal seq it holds.</summary>
public sealed record SinkPosition(string Sink, long LastSeq);

/// <summary>
/// A derived store holds events the journal does not: the journal lost acknowledged events (a truncated WAL, a database
/// restored from an older copy). By design <c>serve</c> then refuses to start (exit 5): every new write would take a seq
/// the store already holds for another trade, mixing two histories, and the lost trades could no longer be recovered.
/// The message gives the exact command that brings the lost events back. No event was written (a start on an empty data
/// directory has created its empty database and journal log, which the recovery fills).
/// </summary>
public sealed class JournalBehindSinksException(long journalLastSeq, IReadOnlyList<SinkPosition> ahead)
    : Exception(Describe(journalLastSeq, ahead))
{
    public long JournalLastSeq { get; } = journalLastSeq;

    /// <summary>The stores ahead of the journal, furthest first.</summary>
    public IReadOnlyList<SinkPosition> Ahead { get; } = ahead;

    /// <summary>
    /// The command that restores the lost events: Redis's change stream appends the journal's lost tail in place;
    /// ClickHouse alone rebuilds the whole database (the present files set aside, not deleted).
    /// </summary>
    public static string RecoverCommand(IReadOnlyList<SinkPosition> ahead) =>
        ahead.Any(a => a.Sink == "redis") ? "tradestore recover --from redis" : "tradestore recover --from clickhouse --set-aside";

    private static string Describe(long journalLastSeq, IReadOnlyList<SinkPosition> ahead)
    {
        var stores = string.Join(" and ", ahead.Select(a => string.Create(CultureInfo.InvariantCulture, $"{a.Sink} holds events up to seq {a.LastSeq}")));
        var lost = ahead.Max(a => a.LastSeq) - journalLastSeq;
        return string.Create(CultureInfo.InvariantCulture,
            $"{stores}, but the journal ends at seq {journalLastSeq}: the journal lost {lost} acknowledged event(s). ") +
            "Writes are refused, because a new write would reuse a seq those stores hold for another trade. No event was written. " +
            $"Run: {RecoverCommand(ahead)} (with the same --data and configuration), then start again." +
            (ahead.Any(a => a.Sink == "redis") && ahead.Any(a => a.Sink == "clickhouse")
                ? " If Redis no longer holds every lost event, recover refuses; then run: tradestore recover --from clickhouse --set-aside."
                : string.Empty);
    }
}
