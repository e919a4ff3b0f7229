using TradeStore.ClickHouse.Rows;
using TradeStore.ClickHouse.Verification;
using TradeStore.Storage;
using TradeStore.Storage.Recovery;
using TradeStore.Storage.Sync;

namespace TradeStore.ClickHouse.Recovery;

/// <summary>What a restore from ClickHouse did, and the verification of its result.</summary>
public sealed record RecoveryResult(long Events, long Trades, VerificationReport Verification);

/// <summary>
/// Rebuilds a lost DuckDB database from ClickHouse <c>trade_events</c> (read with <c>FINAL</c>, in <c>seq</c> order):
/// the journal, <c>trade_state</c>, and the ClickHouse checkpoint, in one transaction, into an empty database only;
/// then compares the result with ClickHouse. Refuses a source with a gap in <c>seq</c> before writing anything.
/// </summary>
public sealed class ClickHouseRecovery(ClickHouseClient client, DuckDbDatabase database)
{
    /// <summary>Rows per ClickHouse query while reading the history.</summary>
    public const int PageSize = 20_000;

    /// <exception cref="DatabaseNotEmptyException">The target already holds data.</exception>
    /// <exception cref="JournalImportException">ClickHouse's history has a gap or a repeat; nothing was committed.</exception>
    public async Task<RecoveryResult> RecoverAsync(Action<string> progress, CancellationToken cancellationToken)
    {
        var db = client.Database;
        using var import = JournalImport.BeginIntoEmpty(database);
        var summary = (await client.QueryRowsAsync("SELECT count() AS events, min(seq) AS min_seq, max(seq) AS max_seq FROM trade_events FINAL", cancellationToken, db))[0];
        var events = ClickHouseJson.Int64(summary, "events");
        var minSeq = events == 0 ? 0 : ClickHouseJson.Int64(summary, "min_seq");
        var maxSeq = events == 0 ? 0 : ClickHouseJson.Int64(summary, "max_seq");
        if (events > 0 && (minSeq != 1 || maxSeq != events))
        {
            throw new JournalImportException(
                $"ClickHouse {db}.trade_events holds {events} events between seq {minSeq} and {maxSeq}: " +
                $"{maxSeq - events} are missing, so it cannot rebuild a complete journal. Nothing was written.");
        }

        progress($"reading {events} events (seq 1..{maxSeq}) from ClickHouse {Core.Security.UrlRedaction.Redact(client.BaseUri.GetLeftPart(UriPartial.Authority))} database {db}");
        while (import.LastSeq < maxSeq)
        {
            var rows = await client.QueryRowsAsync(
                $"SELECT {ClickHouseRows.EventColumns} FROM trade_events FINAL WHERE seq > {import.LastSeq} ORDER BY seq LIMIT {PageSize}", cancellationToken, db);
            if (rows.Count == 0)
            {
                throw new JournalImportException($"ClickHouse returned no events after seq {import.LastSeq}, although its max(seq) is {maxSeq}.");
            }

            import.Append(rows.Select(ClickHouseRows.ReadEvent).ToList());
        }

        var trades = import.Complete([SyncCheckpoints.ClickHouse]);
        progress($"wrote {import.LastSeq} journal events and {trades} trades; checking against ClickHouse");
        var verification = await new ClickHouseVerifier(client, database).VerifyAsync(cancellationToken);
        return new RecoveryResult(import.LastSeq, trades, verification);
    }
}
