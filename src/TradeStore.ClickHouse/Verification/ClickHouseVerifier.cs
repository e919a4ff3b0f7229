using System.Globalization;
using System.Text.Json;
using DuckDB.NET.Data;
using TradeStore.ClickHouse.Rows;
using TradeStore.Core.Diagnostics;
using TradeStore.Storage;
using TradeStore.Storage.Integrity;

namespace TradeStore.ClickHouse.Verification;

/// <summary>
/// Compares ClickHouse with the DuckDB journal: event count, <c>max(seq)</c>, the seqs missing below it, exact sums of
/// the money columns of <c>trade_events</c>, the trade and version of each event, and each trade's latest version and
/// seq in <c>trade_state</c>, all read from ClickHouse with <c>FINAL</c> (so rows a merge will collapse count once).
/// </summary>
/// <remarks>
/// By design read in ranges of <see cref="SeqRange"/> seqs (events by <c>seq</c>, states by <c>last_seq</c>), on both
/// sides, as <c>recover --from clickhouse</c> reads: a single <c>FINAL</c> query over a table of millions of events runs
/// past <c>ClickHouse:Timeout</c>, and every trade of both stores held at once took gigabytes. What is held at a time is
/// one range and the differences found; a long comparison says how far it got every 5 s (<see cref="Progress"/>).
/// </remarks>
public sealed class ClickHouseVerifier(ClickHouseClient client, DuckDbDatabase database)
{
    /// <summary>At most this many per-trade (or per-event) differences are listed one by one; the rest are counted.</summary>
    public const int MaxListed = 20;

    /// <summary>Trade ids per look-up query (well inside ClickHouse's <c>max_query_size</c> of 256 KiB).</summary>
    private const int LookupBatch = 500;

    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(5);

    /// <summary>Seqs compared per step (one <c>FINAL</c> query of events and one of states, each bounded by it); 50,000 unless a test needs small ranges.</summary>
    internal long SeqRange { get; init; } = 50_000;

    /// <summary>
    /// The journal log's records the next start replays into DuckDB (after a crash), or <see langword="null"/>: the sync
    /// is fed from the log's durable events, so ClickHouse may rightly hold them while DuckDB does not yet; the journal
    /// ClickHouse is compared with is then DuckDB plus them, the store as it is once the log is replayed.
    /// </summary>
    public JournalLogTail? LogTail { get; init; }

    /// <summary>
    /// Whether <c>trade_state</c> rows past both ClickHouse's <c>trade_events</c> and the journal (a sync batch cut short:
    /// the sync writes a batch's states before its events) are facts rather than differences. A recovery from ClickHouse
    /// sets it: its journal is <c>trade_events</c> by construction, so such rows say nothing about what it restored.
    /// </summary>
    public bool StatesPastTheEventsAreFacts { get; init; }

    /// <summary>Where a long comparison says how far it got (at most every 5 s); <see langword="null"/> for silence.</summary>
    public Action<string>? Progress { get; init; }

    /// <summary>
    /// How the report names the DuckDB database: its path unless said otherwise (a recovery checks a database it built
    /// under a staging name, which is moved into place right after).
    /// </summary>
    public string? DatabaseName { get; init; }

    public async Task<VerificationReport> VerifyAsync(CancellationToken cancellationToken)
    {
        var db = client.Database;
        var facts = new List<string>();
        var differences = new List<string>();

        var journal = ReadJournal();
        // No FINAL: a count and a max read the parts' key columns, not a merge of the table. FINAL collapses rows of one
        // seq (the sorting key), so the rows before merge minus the events counted below are the duplicates.
        var raw = (await client.QueryRowsAsync("SELECT count() AS rows, max(seq) AS max_seq FROM trade_events", cancellationToken, db))[0];
        var rows = ClickHouseJson.Int64(raw, "rows");
        var upTo = Math.Max(rows == 0 ? 0 : ClickHouseJson.Int64(raw, "max_seq"), journal.MaxSeq);

        // States past every event of both stores are compared with nothing: read them first, so the ranges below take
        // their trades' journal states as explained rather than as differences.
        var pass = new Pass(journal, LogTail, await ReadStatesAsync($"last_seq > {upTo}", cancellationToken));
        var ticker = new ProgressTicker(Progress, ProgressEvery);
        if (upTo > SeqRange)
        {
            Progress?.Invoke($"comparing seq 1..{upTo} in ranges of {SeqRange} seqs");
        }

        for (var from = 1L; from <= upTo; from += SeqRange)
        {
            ticker.Tick(() => $"compared seq 1..{from - 1} of {upTo}, {pass.Listed.Count + pass.Unlisted} differing trades or events so far");
            var to = Math.Min(upTo, from + SeqRange - 1);
            await CompareEventsAsync(pass, from, to, cancellationToken);
            await CompareStatesAsync(pass, $"last_seq BETWEEN {from} AND {to}", ReadJournalStates(from, to), cancellationToken);
        }

        // States no event range holds: a last_seq below 1 (past every event they were read above).
        await CompareStatesAsync(pass, "last_seq < 1", [], cancellationToken);

        var duckDb = $"DuckDB {DatabaseName ?? database.Path}";
        facts.Add($"journal ({(LogTail is { IsEmpty: false } tail ? $"{duckDb} plus {tail.Records} log records to replay at start, seq {tail.DuckDbSeq + 1}..{tail.LastSeq}" : duckDb)}): {journal.Events} events, last seq {journal.MaxSeq}, {journal.Trades} trades");
        facts.Add($"ClickHouse {Core.Security.UrlRedaction.Redact(client.BaseUri.GetLeftPart(UriPartial.Authority))} database {db}: {pass.Events} events (FINAL), max seq {pass.MaxSeq}; " +
                  $"{rows} rows before merge" + (rows > pass.Events ? $" ({rows - pass.Events} duplicates that ReplacingMergeTree will drop)" : ""));

        if (pass.Events != journal.Events)
        {
            var gap = journal.Events - pass.Events;
            differences.Add(gap > 0
                ? $"trade_events: ClickHouse has {pass.Events} events, the journal {journal.Events} ({gap} not in ClickHouse: the sync is behind or lost them)"
                : $"trade_events: ClickHouse has {pass.Events} events, the journal {journal.Events} ({-gap} more in ClickHouse than in this journal)");
        }

        if (pass.MaxSeq != journal.MaxSeq)
        {
            differences.Add($"trade_events max(seq): ClickHouse {pass.MaxSeq}, journal {journal.MaxSeq}");
        }

        differences.AddRange(DescribeMissing(pass, Math.Min(pass.MaxSeq, journal.MaxSeq)));
        CompareSum(differences, "quantity", pass.QuantitySum, journal.QuantitySum);
        CompareSum(differences, "filled_quantity", pass.FilledSum, journal.FilledSum);
        CompareSum(differences, "price", pass.PriceSum, journal.PriceSum);
        facts.Add($"ClickHouse trade_state: {pass.States + pass.StatesPast.Count} trades (FINAL)");
        if (pass.StatesPast.Count > 0)
        {
            facts.Add(ExplainStatesPast(pass, rows == 0 ? 0 : ClickHouseJson.Int64(raw, "max_seq")));
            var named = NameStatesPast(pass);
            var unnamed = pass.StatesPast.Count - named.Count;
            if (StatesPastTheEventsAreFacts)
            {
                facts.AddRange(unnamed > 0 ? [.. named, $"… and {unnamed} more trades in ClickHouse trade_state past its events"] : named);
            }
            else
            {
                differences.AddRange(named);
                pass.Unlisted += unnamed;
            }
        }

        differences.AddRange(pass.Listed);
        return new VerificationReport("clickhouse", facts, differences, pass.Unlisted);
    }

    /// <summary>
    /// The events of seqs <paramref name="from"/>..<paramref name="to"/> in both stores: ClickHouse's counted and summed,
    /// the seqs it lacks below its <c>max(seq)</c> noted, and each one's trade and version compared with the journal's.
    /// </summary>
    private async Task CompareEventsAsync(Pass pass, long from, long to, CancellationToken cancellationToken)
    {
        var clickHouse = await client.QueryRowsAsync(
            "SELECT seq, trade_id, version, toString(quantity) AS quantity, toString(filled_quantity) AS filled, toString(price) AS price " +
            $"FROM trade_events FINAL WHERE seq BETWEEN {from} AND {to} ORDER BY seq", cancellationToken, client.Database);
        var journal = ReadJournalEvents(from, Math.Min(to, pass.DuckDbSeq));
        var strays = new List<(long Seq, string TradeId, long Version)>();
        var next = from;
        foreach (var row in clickHouse)
        {
            var seq = ClickHouseJson.Int64(row, "seq");
            var tradeId = ClickHouseJson.String(row, "trade_id");
            var version = ClickHouseJson.Int64(row, "version");
            pass.Count(seq, Decimal(row, "quantity"), Decimal(row, "filled"), Decimal(row, "price"));
            pass.NoteAbsent(next, seq - 1);
            next = seq + 1;

            if (seq > pass.JournalMaxSeq)
            {
                strays.Add((seq, tradeId, version));
            }
            else if (pass.JournalEventAt(seq, journal) is { } expected && (expected.TradeId != tradeId || expected.Version != version))
            {
                pass.Add($"trade_events seq {seq}: trade {expected.TradeId} version {expected.Version} in the journal, trade {tradeId} version {version} in ClickHouse");
            }
        }

        pass.NoteAbsent(next, to);
        if (strays.Count > 0)
        {
            // Past the journal's end: a trade the journal never had is named once, as in trade_state; others by seq.
            var known = JournalTradesAmong(pass, strays.Select(s => s.TradeId));
            foreach (var (seq, tradeId, version) in strays)
            {
                if (!known.Contains(tradeId))
                {
                    pass.AddUnknownTrade(tradeId);
                }
                else
                {
                    pass.Add($"trade_events seq {seq}: trade {tradeId} version {version} in ClickHouse, past the journal's last seq {pass.JournalMaxSeq}");
                }
            }
        }
    }

    /// <summary>
    /// ClickHouse <c>trade_state</c> rows matching <paramref name="where"/> against <paramref name="journal"/>, the
    /// journal's trades whose latest event lies in the same range. A trade found on one side only is looked up on the
    /// other: each trade of the journal lies in exactly one range, so a trade whose last seq differs is reported once,
    /// from the range of the journal's; one the journal lacks is "not in the journal".
    /// </summary>
    private async Task CompareStatesAsync(Pass pass, string where, Dictionary<string, (long Version, long Seq)> journal, CancellationToken cancellationToken)
    {
        var rows = await ReadStatesAsync(where, cancellationToken);
        pass.States += rows.Count;
        foreach (var (tradeId, _) in pass.StatesPast)
        {
            if (journal.Remove(tradeId, out var older))
            {
                pass.JournalStatesOfStatesPast[tradeId] = older; // named with the state past the events, below
            }
        }

        var clickHouseOnly = new List<string>();
        foreach (var (tradeId, state) in rows)
        {
            if (!journal.Remove(tradeId, out var expected))
            {
                clickHouseOnly.Add(tradeId);
            }
            else if (expected != state)
            {
                pass.Add(StateDiffers(tradeId, expected, state));
            }
        }

        // What is left is in the journal's range but not in ClickHouse's: named with ClickHouse's state while listed, counted after.
        var unmatched = journal.OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
        var toName = unmatched.Take(Math.Max(0, MaxListed - pass.Listed.Count)).ToList();
        var found = await ClickHouseStatesAsync(toName.Select(t => t.Key), cancellationToken);
        foreach (var (tradeId, expected) in toName)
        {
            pass.Add(found.TryGetValue(tradeId, out var state)
                ? StateDiffers(tradeId, expected, state)
                : $"trade {tradeId}: version {expected.Version} (seq {expected.Seq}) in the journal, missing from ClickHouse trade_state");
        }

        pass.Unlisted += unmatched.Count - toName.Count;

        var known = JournalTradesAmong(pass, clickHouseOnly);
        foreach (var tradeId in clickHouseOnly.Where(id => !known.Contains(id)).Order(StringComparer.Ordinal))
        {
            pass.AddUnknownTrade(tradeId);
        }
    }

    /// <summary>ClickHouse's <c>trade_state</c> rows (FINAL) matching <paramref name="where"/>, by trade.</summary>
    private async Task<Dictionary<string, (long Version, long Seq)>> ReadStatesAsync(string where, CancellationToken cancellationToken)
    {
        var rows = await client.QueryRowsAsync($"SELECT trade_id, version, last_seq FROM trade_state FINAL WHERE {where}", cancellationToken, client.Database);
        return rows.ToDictionary(row => ClickHouseJson.String(row, "trade_id"), row => (ClickHouseJson.Int64(row, "version"), ClickHouseJson.Int64(row, "last_seq")), StringComparer.Ordinal);
    }

    /// <summary>What leaves <c>trade_state</c> rows past both ClickHouse's last event (<paramref name="eventsMaxSeq"/>) and the journal's, and what removes them.</summary>
    private static string ExplainStatesPast(Pass pass, long eventsMaxSeq)
    {
        var seqs = pass.StatesPast.Values.Select(s => s.Seq).ToList();
        return $"ClickHouse trade_state holds {pass.StatesPast.Count} trades at seq {seqs.Min()}..{seqs.Max()}, past both trade_events' max(seq) {eventsMaxSeq} " +
               $"and the journal's last seq {pass.JournalMaxSeq}: the sync writes a batch's states before its events, so a batch cut short (a crash, a kill, " +
               "a failed INSERT) leaves such rows, and no store holds their events. A sync whose journal holds those events rewrites them; this journal " +
               "does not, so they stay until ClickHouse is rebuilt: stop the service, run `tradestore migrate down --target clickhouse --to 0 --yes` and " +
               "`tradestore migrate up --target clickhouse`, and the next serve sends the whole journal once";
    }

    /// <summary>The first <see cref="MaxListed"/> trades of <see cref="Pass.StatesPast"/>, in seq order, each with the journal's state if it holds the trade.</summary>
    private static List<string> NameStatesPast(Pass pass) =>
        pass.StatesPast.OrderBy(t => t.Value.Seq).ThenBy(t => t.Key, StringComparer.Ordinal).Take(MaxListed).Select(t =>
            pass.JournalStatesOfStatesPast.TryGetValue(t.Key, out var journal)
                ? $"trade {t.Key}: version {t.Value.Version} (seq {t.Value.Seq}) in ClickHouse trade_state, past its events; version {journal.Version} (seq {journal.Seq}) in the journal"
                : $"trade {t.Key}: version {t.Value.Version} (seq {t.Value.Seq}) in ClickHouse trade_state, past its events; not in the journal").ToList();

    private static string StateDiffers(string tradeId, (long Version, long Seq) expected, (long Version, long Seq) state) =>
        $"trade {tradeId}: version {expected.Version} (seq {expected.Seq}) in the journal, version {state.Version} (seq {state.Seq}) in ClickHouse trade_state";

    /// <summary>ClickHouse's <c>trade_state</c> (FINAL) of each of <paramref name="tradeIds"/> it holds, looked up by its sorting key.</summary>
    private async Task<Dictionary<string, (long Version, long Seq)>> ClickHouseStatesAsync(IEnumerable<string> tradeIds, CancellationToken cancellationToken)
    {
        var states = new Dictionary<string, (long Version, long Seq)>(StringComparer.Ordinal);
        foreach (var batch in tradeIds.Chunk(LookupBatch))
        {
            var rows = await client.QueryRowsAsync(
                $"SELECT trade_id, version, last_seq FROM trade_state FINAL WHERE trade_id IN ({string.Join(',', batch.Select(ClickHouseString))})",
                cancellationToken, client.Database);
            foreach (var row in rows)
            {
                states[ClickHouseJson.String(row, "trade_id")] = (ClickHouseJson.Int64(row, "version"), ClickHouseJson.Int64(row, "last_seq"));
            }
        }

        return states;
    }

    /// <summary>Which of <paramref name="tradeIds"/> the journal holds (DuckDB, or the log's tail).</summary>
    private HashSet<string> JournalTradesAmong(Pass pass, IEnumerable<string> tradeIds)
    {
        var known = new HashSet<string>(StringComparer.Ordinal);
        var toRead = new List<string>();
        foreach (var id in tradeIds.Distinct(StringComparer.Ordinal))
        {
            if (pass.TailLatest.ContainsKey(id))
            {
                known.Add(id);
            }
            else
            {
                toRead.Add(id);
            }
        }

        if (toRead.Count == 0)
        {
            return known;
        }

        using var connection = database.OpenConnection();
        foreach (var batch in toRead.Chunk(LookupBatch))
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT DISTINCT trade_id FROM trade_state WHERE trade_id IN ({string.Join(',', batch.Select(DuckDbString))}) " +
                $"UNION SELECT DISTINCT trade_id FROM trade_events WHERE trade_id IN ({string.Join(',', batch.Select(DuckDbString))})";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                known.Add(reader.GetString(0));
            }
        }

        return known;
    }

    /// <summary>
    /// Names the journal's seqs 1..<paramref name="upTo"/> that ClickHouse lacks (the journal has every seq, so each one
    /// ClickHouse lacks below its own <c>max(seq)</c> was lost there: a part dropped, rows deleted, an older backup
    /// merged in), as ranges, the first <see cref="MaxListed"/> of them with the trade of a lone missing event. The
    /// sync refills only what lies past ClickHouse's <c>max(seq)</c>, so these stay missing until ClickHouse is rebuilt.
    /// </summary>
    private List<string> DescribeMissing(Pass pass, long upTo)
    {
        // The seqs past ClickHouse's max(seq) are one trailing hole, the sync's backlog: counted apart, above.
        var missing = pass.Absent.Where(r => r.From <= upTo).Select(r => (r.From, To: Math.Min(r.To, upTo))).ToList();
        if (missing.Count == 0)
        {
            return [];
        }

        var missingEvents = pass.AbsentTotal - Math.Max(0, pass.JournalMaxSeq - upTo);
        var lone = TradesAt(missing.Take(MaxListed).Where(r => r.From == r.To).Select(r => r.From).ToList());
        var lines = new List<string>
        {
            $"trade_events: {missingEvents} of the journal's seqs 1..{upTo} are not in ClickHouse; the sync refills only past ClickHouse's max(seq): to restore them, stop the service, run `tradestore migrate down --target clickhouse --to 0 --yes` and `tradestore migrate up --target clickhouse`, and the next serve sends the whole journal once",
        };
        lines.AddRange(missing.Take(MaxListed).Select(r => r.From == r.To
            ? $"trade_events: seq {r.From}{(lone.TryGetValue(r.From, out var trade) ? $" ({trade})" : "")} missing from ClickHouse"
            : $"trade_events: seq {r.From}..{r.To} ({r.To - r.From + 1} events) missing from ClickHouse"));
        if (missing.Count > MaxListed)
        {
            lines.Add($"… and more seq ranges missing from ClickHouse ({missingEvents} events in all)");
        }

        return lines;
    }

    /// <summary>"trade T version V" for each of <paramref name="seqs"/> that DuckDB's journal holds.</summary>
    private Dictionary<long, string> TradesAt(List<long> seqs)
    {
        var named = new Dictionary<long, string>();
        if (seqs.Count == 0)
        {
            return named;
        }

        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT seq, trade_id, version FROM trade_events WHERE seq IN ({string.Join(',', seqs.Select(s => s.ToString(CultureInfo.InvariantCulture)))})";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            named[reader.GetInt64(0)] = $"trade {reader.GetString(1)} version {reader.GetInt64(2)}";
        }

        return named;
    }

    private static void CompareSum(List<string> differences, string column, decimal clickHouse, decimal journal)
    {
        if (clickHouse != journal)
        {
            differences.Add($"sum({column}) over trade_events: ClickHouse {clickHouse}, journal {journal}");
        }
    }

    private static decimal Decimal(JsonElement row, string name) =>
        decimal.Parse(ClickHouseJson.String(row, name), NumberStyles.Number, CultureInfo.InvariantCulture);

    private static string ClickHouseString(string value) =>
        $"'{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)}'";

    private static string DuckDbString(string value) => $"'{value.Replace("'", "''", StringComparison.Ordinal)}'";

    /// <summary>DuckDB's events of seqs <paramref name="from"/>..<paramref name="to"/>: trade and version by seq.</summary>
    private Dictionary<long, (string TradeId, long Version)> ReadJournalEvents(long from, long to)
    {
        var events = new Dictionary<long, (string TradeId, long Version)>();
        if (from > to)
        {
            return events;
        }

        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, trade_id, version FROM trade_events WHERE seq BETWEEN $from AND $to";
        command.Parameters.Add(new DuckDBParameter("from", from));
        command.Parameters.Add(new DuckDBParameter("to", to));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            events[reader.GetInt64(0)] = (reader.GetString(1), reader.GetInt64(2));
        }

        return events;
    }

    /// <summary>
    /// The journal's trades whose latest event lies in seqs <paramref name="from"/>..<paramref name="to"/>: DuckDB's
    /// current state, with each trade the log's tail touches at its tail event instead.
    /// </summary>
    private Dictionary<string, (long Version, long Seq)> ReadJournalStates(long from, long to)
    {
        var trades = new Dictionary<string, (long Version, long Seq)>(StringComparer.Ordinal);
        var tail = LogTail?.Latest;
        using (var connection = database.OpenConnection())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT trade_id, version, last_seq FROM current_trade_state WHERE last_seq BETWEEN $from AND $to";
            command.Parameters.Add(new DuckDBParameter("from", from));
            command.Parameters.Add(new DuckDBParameter("to", to));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var tradeId = reader.GetString(0);
                if (tail is null || !tail.ContainsKey(tradeId))
                {
                    trades[tradeId] = (reader.GetInt64(1), reader.GetInt64(2));
                }
            }
        }

        foreach (var (tradeId, latest) in tail ?? new Dictionary<string, Core.Trades.TradeEvent>())
        {
            if (latest.Seq >= from && latest.Seq <= to)
            {
                trades[tradeId] = (latest.Version, latest.Seq);
            }
        }

        return trades;
    }

    private JournalFigures ReadJournal()
    {
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT count(*), coalesce(max(seq), 0), coalesce(sum(quantity), 0)::VARCHAR, coalesce(sum(filled_quantity), 0)::VARCHAR,
                   coalesce(sum(price), 0)::VARCHAR
            FROM trade_events
            """;
        long events, maxSeq;
        decimal quantity, filled, price;
        using (var reader = command.ExecuteReader())
        {
            reader.Read();
            events = reader.GetInt64(0);
            maxSeq = reader.GetInt64(1);
            quantity = decimal.Parse(reader.GetString(2), NumberStyles.Number, CultureInfo.InvariantCulture);
            filled = decimal.Parse(reader.GetString(3), NumberStyles.Number, CultureInfo.InvariantCulture);
            price = decimal.Parse(reader.GetString(4), NumberStyles.Number, CultureInfo.InvariantCulture);
        }

        var tail = LogTail;
        command.CommandText = "SELECT count(*) FROM current_trade_state";
        var trades = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (tail is { IsEmpty: false })
        {
            trades += tail.Latest.Count - CountKnown(connection, tail.Latest.Keys); // the tail's trades DuckDB does not know yet are new
        }

        var figures = new JournalFigures(events, maxSeq, quantity, filled, price, trades);
        return tail is null ? figures : figures.With(tail);
    }

    /// <summary>How many of <paramref name="tradeIds"/> DuckDB's current state holds.</summary>
    private static long CountKnown(DuckDBConnection connection, IEnumerable<string> tradeIds)
    {
        var count = 0L;
        foreach (var batch in tradeIds.Chunk(LookupBatch))
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT count(*) FROM current_trade_state WHERE trade_id IN ({string.Join(',', batch.Select(DuckDbString))})";
            count += Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        return count;
    }

    private sealed record JournalFigures(long Events, long MaxSeq, decimal QuantitySum, decimal FilledSum, decimal PriceSum, long Trades)
    {
        /// <summary>The figures once the start has replayed <paramref name="tail"/> into DuckDB.</summary>
        public JournalFigures With(JournalLogTail tail) => tail.IsEmpty
            ? this
            : this with
            {
                Events = Events + tail.Records,
                MaxSeq = tail.LastSeq,
                QuantitySum = QuantitySum + tail.QuantitySum,
                FilledSum = FilledSum + tail.FilledQuantitySum,
                PriceSum = PriceSum + tail.PriceSum,
            };
    }

    /// <summary>What one comparison has seen so far: ClickHouse's totals, the seqs it lacks, and the differences (the first <see cref="MaxListed"/> named).</summary>
    private sealed class Pass
    {
        private readonly HashSet<string> _unknownTrades = new(StringComparer.Ordinal);
        private readonly Dictionary<long, Core.Trades.TradeEvent> _tailBySeq;

        public Pass(JournalFigures journal, JournalLogTail? tail, Dictionary<string, (long Version, long Seq)> statesPast)
        {
            StatesPast = statesPast;
            JournalMaxSeq = journal.MaxSeq;
            DuckDbSeq = tail is { IsEmpty: false } ? tail.DuckDbSeq : journal.MaxSeq;
            TailLatest = tail?.Latest ?? new Dictionary<string, Core.Trades.TradeEvent>();
            _tailBySeq = TailLatest.Values.ToDictionary(e => e.Seq);
        }

        public long JournalMaxSeq { get; }

        /// <summary>ClickHouse <c>trade_state</c> rows past every event of both stores, by trade (<see cref="ExplainStatesPast"/>).</summary>
        public Dictionary<string, (long Version, long Seq)> StatesPast { get; }

        /// <summary>The journal's state of each trade of <see cref="StatesPast"/> it holds.</summary>
        public Dictionary<string, (long Version, long Seq)> JournalStatesOfStatesPast { get; } = new(StringComparer.Ordinal);

        /// <summary>The last seq DuckDB holds; the journal's events after it are the log's tail, known only as each trade's latest.</summary>
        public long DuckDbSeq { get; }

        public IReadOnlyDictionary<string, Core.Trades.TradeEvent> TailLatest { get; }

        public long Events { get; private set; }

        public long MaxSeq { get; private set; }

        public decimal QuantitySum { get; private set; }

        public decimal FilledSum { get; private set; }

        public decimal PriceSum { get; private set; }

        public long States { get; set; }

        /// <summary>The first <see cref="MaxListed"/> + 1 ranges of the journal's seqs ClickHouse lacks, merged across the ranges read.</summary>
        public List<(long From, long To)> Absent { get; } = [];

        /// <summary>How many of the journal's seqs ClickHouse lacks, the ones past its own <c>max(seq)</c> included.</summary>
        public long AbsentTotal { get; private set; }

        public List<string> Listed { get; } = [];

        public long Unlisted { get; set; }

        public void Count(long seq, decimal quantity, decimal filled, decimal price)
        {
            Events++;
            MaxSeq = Math.Max(MaxSeq, seq);
            QuantitySum += quantity;
            FilledSum += filled;
            PriceSum += price;
        }

        /// <summary>
        /// Notes the journal's seqs <paramref name="from"/>..<paramref name="to"/> as not in ClickHouse (nothing when
        /// empty; seqs past the journal's end are not its seqs). Only the first ranges are kept; past them only the count.
        /// </summary>
        public void NoteAbsent(long from, long to)
        {
            to = Math.Min(to, JournalMaxSeq);
            if (from > to)
            {
                return;
            }

            AbsentTotal += to - from + 1;
            if (Absent.Count > 0 && Absent[^1].To == from - 1)
            {
                Absent[^1] = (Absent[^1].From, to); // a hole across the end of the previous range
            }
            else if (Absent.Count <= MaxListed)
            {
                Absent.Add((from, to));
            }
        }

        /// <summary>The journal's event at <paramref name="seq"/> (at most the journal's last), or <see langword="null"/> when only the log's tail holds it and not as a trade's latest event.</summary>
        public (string TradeId, long Version)? JournalEventAt(long seq, Dictionary<long, (string TradeId, long Version)> duckDb) =>
            seq <= DuckDbSeq
                ? duckDb.TryGetValue(seq, out var e) ? e : null
                : _tailBySeq.TryGetValue(seq, out var t) ? (t.TradeId, t.Version) : null;

        public void Add(string difference)
        {
            if (Listed.Count < MaxListed)
            {
                Listed.Add(difference);
            }
            else
            {
                Unlisted++;
            }
        }

        /// <summary>A trade the journal does not hold, named once whichever of ClickHouse's tables it is found in.</summary>
        public void AddUnknownTrade(string tradeId)
        {
            if (_unknownTrades.Add(tradeId))
            {
                Add($"trade {tradeId}: in ClickHouse, not in the journal");
            }
        }
    }
}
