using DuckDB.NET.Data;
using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Journal;

namespace TradeStore.Storage.Recovery;

/// <summary>How a recovery ended.</summary>
public enum RecoveryOutcome
{
    /// <summary>Events were appended to the journal.</summary>
    Recovered,

    /// <summary>The source holds nothing beyond the journal.</summary>
    NothingToRecover,

    /// <summary>The source cannot fill the journal safely (gap, disorder, divergence); nothing was written.</summary>
    Refused,
}

/// <summary>The result of a recovery, with a report an operator can act on.</summary>
public sealed record RecoveryReport(RecoveryOutcome Outcome, long JournalLastSeqBefore, long JournalLastSeqAfter, int EventsRecovered, int TradesUpdated, string Message);

/// <summary>
/// Appends to the journal the events a derived store holds beyond the journal's last <c>seq</c> (a database file
/// restored from an older copy, a journal tail lost with a damaged WAL). It checks, before writing anything,
/// that the first recovered <c>seq</c> follows the journal without a gap, that the events are contiguous, that the
/// source agrees with the journal's last row and that each trade's versions follow on; otherwise it refuses with
/// a report. Existing journal rows are never overwritten (a plain append: a clashing <c>seq</c> aborts the whole
/// transaction); the journal tail is folded into <c>trade_state</c> (and its checkpoint moved) in the same transaction.
/// </summary>
public sealed class JournalRecovery(DuckDbDatabase database)
{
    public async Task<RecoveryReport> RecoverAsync(IJournalRecoverySource source, CancellationToken cancellationToken)
    {
        var journal = new JournalReader(database);
        var last = journal.LastSeq();
        var held = await source.ReadFromAsync(Math.Max(last, 1), cancellationToken);
        var beyond = held.Events.Where(e => e.Seq > last).ToList();
        if (beyond.Count == 0)
        {
            return new RecoveryReport(RecoveryOutcome.NothingToRecover, last, last, 0, 0,
                $"Nothing to recover: the journal ends at seq {last} and {source.Name} holds nothing beyond it" +
                (held.OldestSeq is { } oldest ? $" (it holds seq {oldest}..{(held.Events.Count > 0 ? held.Events[^1].Seq : oldest)})." : " (it holds no events)."));
        }

        if (Refusal(source.Name, journal, last, held, beyond) is { } refusal)
        {
            return new RecoveryReport(RecoveryOutcome.Refused, last, last, 0, 0, refusal);
        }

        var states = Append(beyond);
        return new RecoveryReport(RecoveryOutcome.Recovered, last, beyond[^1].Seq, beyond.Count, states,
            $"Recovered seq {beyond[0].Seq}..{beyond[^1].Seq} ({beyond.Count} events, {states} trades) from {source.Name}; the journal now ends at seq {beyond[^1].Seq}.");
    }

    private string? Refusal(string name, JournalReader journal, long last, RecoverySourceEvents held, List<TradeEvent> beyond)
    {
        const string Nothing = " Nothing was written.";
        if (beyond[0].Seq != last + 1)
        {
            return $"Refused: the journal ends at seq {last}, but the oldest event {name} holds beyond it is seq {beyond[0].Seq} " +
                $"(the oldest it holds at all is seq {held.OldestSeq}). Events {last + 1}..{beyond[0].Seq - 1} are in neither store, " +
                "so recovering would leave a gap in the journal." + Nothing;
        }

        for (var i = 1; i < beyond.Count; i++)
        {
            if (beyond[i].Seq != beyond[i - 1].Seq + 1)
            {
                return $"Refused: {name} jumps from seq {beyond[i - 1].Seq} to {beyond[i].Seq} (gap or duplicate)." + Nothing;
            }
        }

        if (last > 0 && held.Events.FirstOrDefault(e => e.Seq == last) is { } overlap)
        {
            var row = journal.ReadAfter(last - 1, 1).Single();
            if (row.TradeId != overlap.TradeId || row.Version != overlap.Version || row.Type != overlap.Type)
            {
                return $"Refused: {name} and the journal disagree at seq {last} (journal: {row.TradeId} v{row.Version} {row.Type.ToCode()}; " +
                    $"{name}: {overlap.TradeId} v{overlap.Version} {overlap.Type.ToCode()}): they hold different histories." + Nothing;
            }
        }

        var versions = CurrentVersions(beyond.Select(e => e.TradeId).Distinct(StringComparer.Ordinal));
        foreach (var e in beyond)
        {
            var current = versions.GetValueOrDefault(e.TradeId);
            if (e.Version != current + 1 || (e.Type == TradeEventType.Create) != (current == 0) || e.State.LastSeq != e.Seq)
            {
                return $"Refused: seq {e.Seq} ({e.Type.ToCode()} of trade {e.TradeId}, version {e.Version}) does not follow the trade's " +
                    $"version {current} in the journal." + Nothing;
            }

            versions[e.TradeId] = e.Version;
        }

        return null;
    }

    private Dictionary<string, long> CurrentVersions(IEnumerable<string> tradeIds)
    {
        var versions = new Dictionary<string, long>(StringComparer.Ordinal);
        using var connection = database.OpenConnection();
        foreach (var id in tradeIds)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT coalesce(max(version), 0) FROM trade_events WHERE trade_id = $id";
            command.Parameters.Add(new DuckDBParameter("id", id));
            versions[id] = Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }

        return versions;
    }

    /// <summary>Appends the events and folds the tail into <c>trade_state</c>, in one transaction; returns the number of recovered trades.</summary>
    private int Append(List<TradeEvent> events)
    {
        using var connection = database.OpenConnection();
        using var transaction = connection.BeginTransaction();
        using (var appender = connection.CreateAppender("trade_events"))
        {
            foreach (var e in events)
            {
                JournalColumns.Append(appender, e);
            }
        }

        // By design the whole tail, not only the recovered trades: trade_state may lag the journal (a kill before a
        // flush), and its checkpoint may only move past seqs whose states it holds.
        TradeStateCheckpoint.FoldTail(connection, transaction);
        transaction.Commit();
        return events.Select(e => e.TradeId).Distinct(StringComparer.Ordinal).Count();
    }
}
