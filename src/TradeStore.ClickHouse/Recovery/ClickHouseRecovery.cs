using TradeStore.ClickHouse.Rows;
using TradeStore.ClickHouse.Verification;
using TradeStore.Core.Diagnostics;
using TradeStore.Storage;
using TradeStore.Storage.Recovery;
using TradeStore.Storage.Sync;

namespace TradeStore.ClickHouse.Recovery;

/// <summary>What a restore from ClickHouse did, and the verification of its result.</summary>
public sealed record RecoveryResult(long Events, long Trades, VerificationReport Verification);

/// <summary>The events ClickHouse <c>trade_events</c> holds (read with <c>FINAL</c>): how many, and their first and last <c>seq</c>.</summary>
public sealed record ClickHouseHistory(string Database, long Events, long MinSeq, long MaxSeq)
{
    /// <summary>Why this cannot rebuild a complete journal (seqs missing), or <see langword="null"/> when it can.</summary>
    public string? Gap() => Events > 0 && (MinSeq != 1 || MaxSeq != Events)
        ? $"ClickHouse {Database}.trade_events holds {Events} events between seq {MinSeq} and {MaxSeq}: " +
          $"{MaxSeq - Events} are missing, so it cannot rebuild a complete journal. Nothing was written."
        : null;
}

/// <summary>
/// Rebuilds a lost DuckDB database from ClickHouse <c>trade_events</c> (read with <c>FINAL</c>, in <c>seq</c> order):
/// the journal, <c>trade_state</c>, and the ClickHouse checkpoint, in one transaction, into an empty database only;
/// then compares the result with ClickHouse. Refuses a source with a gap in <c>seq</c> before writing anything.
/// </summary>
public sealed class ClickHouseRecovery(ClickHouseClient client, DuckDbDatabase database)
{
    /// <summary>Rows per ClickHouse query while reading the history.</summary>
    public const int PageSize = 20_000;

    /// <summary>A long read says how far it got this often (a history of millions of events takes minutes).</summary>
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(5);

    private long _eventsRead;

    /// <summary>Events read from ClickHouse and appended so far (read by another thread for a Ctrl-C's line).</summary>
    public long EventsRead => Volatile.Read(ref _eventsRead);

    /// <summary>The events ClickHouse holds, once asked (0 before).</summary>
    public long EventsTotal { get; private set; }

    /// <summary>How the check against ClickHouse names the database (<see cref="ClickHouseVerifier.DatabaseName"/>): where it ends up, not its staging name.</summary>
    public string? DatabaseName { get; init; }

    /// <summary>Whether the journal is written (committed); what follows is the check against ClickHouse.</summary>
    public bool Written { get; private set; }

    /// <summary>
    /// How much history ClickHouse holds (one query, nothing written), so a caller can tell before it changes anything
    /// whether there is a journal to rebuild: <c>recover --set-aside</c> asks before it moves the damaged files.
    /// </summary>
    public static async Task<ClickHouseHistory> ReadHistoryAsync(ClickHouseClient client, CancellationToken cancellationToken)
    {
        var summary = (await client.QueryRowsAsync("SELECT count() AS events, min(seq) AS min_seq, max(seq) AS max_seq FROM trade_events FINAL", cancellationToken,
            client.Database))[0];
        var events = ClickHouseJson.Int64(summary, "events");
        return events == 0
            ? new ClickHouseHistory(client.Database, 0, 0, 0)
            : new ClickHouseHistory(client.Database, events, ClickHouseJson.Int64(summary, "min_seq"), ClickHouseJson.Int64(summary, "max_seq"));
    }

    /// <summary>Rebuilds the journal from <paramref name="history"/>, which <see cref="ReadHistoryAsync"/> read just before.</summary>
    /// <exception cref="DatabaseNotEmptyException">The target already holds data.</exception>
    /// <exception cref="JournalImportException">ClickHouse's history has a gap or a repeat; nothing was committed.</exception>
    public async Task<RecoveryResult> RecoverAsync(ClickHouseHistory history, Action<string> progress, CancellationToken cancellationToken)
    {
        var db = client.Database;
        using var import = JournalImport.BeginIntoEmpty(database);
        if (history.Gap() is { } gap)
        {
            throw new JournalImportException(gap);
        }

        var (events, maxSeq) = (history.Events, history.MaxSeq);
        EventsTotal = events;
        progress($"reading {events} events (seq 1..{maxSeq}) from ClickHouse {Core.Security.UrlRedaction.Redact(client.BaseUri.GetLeftPart(UriPartial.Authority))} database {db}");
        var ticker = new ProgressTicker(progress, ProgressEvery);
        while (import.LastSeq < maxSeq)
        {
            ticker.Tick(() => $"read {import.LastSeq} of {events} events");

            // A range of seqs, not "seq > X … LIMIT n": with FINAL, ClickHouse merges every row the WHERE selects before the
            // LIMIT applies, so each page re-read the whole rest of the history (quadratic: 11 s for the first page of
            // 2.9 million events, past ClickHouse:Timeout). The range is pruned by the table's key (ORDER BY seq); the
            // history was checked gap-free above, so each range holds exactly its seqs.
            var from = import.LastSeq + 1;
            var to = Math.Min(maxSeq, import.LastSeq + PageSize);
            var rows = await client.QueryRowsAsync(
                $"SELECT {ClickHouseRows.EventColumns} FROM trade_events FINAL WHERE seq BETWEEN {from} AND {to} ORDER BY seq", cancellationToken, db);
            if (rows.Count == 0)
            {
                throw new JournalImportException($"ClickHouse returned no events after seq {import.LastSeq}, although its max(seq) is {maxSeq}.");
            }

            import.Append(rows.Select(ClickHouseRows.ReadEvent).ToList());
            Volatile.Write(ref _eventsRead, import.LastSeq);
        }

        // The last moment to stop with nothing written; past it the transaction commits.
        cancellationToken.ThrowIfCancellationRequested();
        var trades = import.Complete([SyncCheckpoints.ClickHouse]);
        Written = true;
        progress($"wrote {import.LastSeq} journal events and {trades} trades; checking against ClickHouse");
        var verification = await new ClickHouseVerifier(client, database) { Progress = progress, DatabaseName = DatabaseName, StatesPastTheEventsAreFacts = true }.VerifyAsync(cancellationToken);
        return new RecoveryResult(import.LastSeq, trades, verification);
    }
}
