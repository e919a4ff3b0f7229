using TradeStore.Core.Trades;

namespace TradeStore.Storage.Recovery;

/// <summary>
/// A derived store that still holds journal events (Redis's change stream, ClickHouse's <c>trade_events</c>) and
/// can hand them back to <see cref="JournalRecovery"/>. One implementation per store keeps recovery pluggable.
/// </summary>
public interface IJournalRecoverySource
{
    /// <summary>Name for reports and <c>--from</c>, for example <c>redis</c>.</summary>
    string Name { get; }

    /// <summary>The events it holds with <c>seq &gt;= fromSeq</c>, in <c>seq</c> order, and the oldest <c>seq</c> it holds at all.</summary>
    Task<RecoverySourceEvents> ReadFromAsync(long fromSeq, CancellationToken cancellationToken);
}

/// <summary>What a source holds from a point on; <see cref="OldestSeq"/> is <see langword="null"/> when it holds nothing.</summary>
public sealed record RecoverySourceEvents(long? OldestSeq, IReadOnlyList<TradeEvent> Events);
