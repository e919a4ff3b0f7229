using System.Globalization;
using TradeStore.ClickHouse.Rows;
using TradeStore.Storage;
using TradeStore.Storage.Integrity;

namespace TradeStore.ClickHouse.Verification;

/// <summary>
/// Compares ClickHouse with the DuckDB journal: event count, <c>max(seq)</c>, the seqs missing below it, and exact sums of the money columns of
/// <c>trade_events</c>, and each trade's latest version in <c>trade_state</c> and in <c>trade_events</c>, all read
/// from ClickHouse with <c>FINAL</c> (so rows a merge will collapse count once).
/// </summary>
public sealed class ClickHouseVerifier(ClickHouseClient client, DuckDbDatabase database)
{
    /// <summary>At most this many per-trade differences are listed one by one; the rest are counted.</summary>
    public const int MaxListed = 20;

    /// <summary>Seqs counted per group when looking for the ones ClickHouse lacks (<see cref="DescribeMissingAsync"/>); 65,536 unless a test needs small groups.</summary>
    public long SeqBucket { get; init; } = 65_536;

    /// <summary>
    /// The journal log's records the next start replays into DuckDB (after a crash), or <see langword="null"/>: the sync
    /// is fed from the log's durable events, so ClickHouse may rightly hold them while DuckDB does not yet; the journal
    /// ClickHouse is compared with is then DuckDB plus them, the store as it is once the log is replayed.
    /// </summary>
    public JournalLogTail? LogTail { get; init; }

    public async Task<VerificationReport> VerifyAsync(CancellationToken cancellationToken)
    {
        var db = client.Database;
        var facts = new List<string>();
        var differences = new List<string>();

        var journal = ReadJournal();
        var raw = (await client.QueryRowsAsync("SELECT count() AS rows, uniqExact(seq) AS distinct_seq FROM trade_events", cancellationToken, db))[0];
        var final = (await client.QueryRowsAsync(
            "SELECT count() AS events, max(seq) AS max_seq, toString(sum(quantity)) AS quantity, toString(sum(filled_quantity)) AS filled, " +
            "toString(sum(price)) AS price FROM trade_events FINAL", cancellationToken, db))[0];
        var clickHouseEvents = ClickHouseJson.Int64(final, "events");
        var clickHouseMaxSeq = clickHouseEvents == 0 ? 0 : ClickHouseJson.Int64(final, "max_seq");
        var rows = ClickHouseJson.Int64(raw, "rows");
        var distinct = ClickHouseJson.Int64(raw, "distinct_seq");

        facts.Add($"journal ({(LogTail is { IsEmpty: false } tail ? $"DuckDB {database.Path} plus {tail.Records} log records to replay at start, seq {tail.DuckDbSeq + 1}..{tail.LastSeq}" : $"DuckDB {database.Path}")}): {journal.Events} events, last seq {journal.MaxSeq}, {journal.Trades.Count} trades");
        facts.Add($"ClickHouse {Core.Security.UrlRedaction.Redact(client.BaseUri.GetLeftPart(UriPartial.Authority))} database {db}: {clickHouseEvents} events (FINAL), max seq {clickHouseMaxSeq}; " +
                  $"{rows} rows before merge" + (rows > distinct ? $" ({rows - distinct} duplicates that ReplacingMergeTree will drop)" : ""));

        if (clickHouseEvents != journal.Events)
        {
            var gap = journal.Events - clickHouseEvents;
            differences.Add(gap > 0
                ? $"trade_events: ClickHouse has {clickHouseEvents} events, the journal {journal.Events} ({gap} not in ClickHouse: the sync is behind or lost them)"
                : $"trade_events: ClickHouse has {clickHouseEvents} events, the journal {journal.Events} ({-gap} more in ClickHouse than in this journal)");
        }

        if (clickHouseMaxSeq != journal.MaxSeq)
        {
            differences.Add($"trade_events max(seq): ClickHouse {clickHouseMaxSeq}, journal {journal.MaxSeq}");
        }

        if (Math.Min(clickHouseMaxSeq, journal.MaxSeq) is > 0 and var below)
        {
            differences.AddRange(await DescribeMissingAsync(below, cancellationToken));
        }

        CompareSum(differences, "quantity", Decimal(final, "quantity"), journal.QuantitySum);
        CompareSum(differences, "filled_quantity", Decimal(final, "filled"), journal.FilledSum);
        CompareSum(differences, "price", Decimal(final, "price"), journal.PriceSum);

        var states = await client.QueryRowsAsync("SELECT trade_id, version, last_seq FROM trade_state FINAL", cancellationToken, db);
        var stateVersions = states.ToDictionary(r => ClickHouseJson.String(r, "trade_id"), r => (Version: ClickHouseJson.Int64(r, "version"), Seq: ClickHouseJson.Int64(r, "last_seq")), StringComparer.Ordinal);
        var eventRows = await client.QueryRowsAsync("SELECT trade_id, max(version) AS version FROM trade_events FINAL GROUP BY trade_id", cancellationToken, db);
        var eventVersions = eventRows.ToDictionary(r => ClickHouseJson.String(r, "trade_id"), r => ClickHouseJson.Int64(r, "version"), StringComparer.Ordinal);
        facts.Add($"ClickHouse trade_state: {stateVersions.Count} trades (FINAL)");

        var perTrade = new List<string>();
        foreach (var (tradeId, expected) in journal.Trades.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            if (!stateVersions.TryGetValue(tradeId, out var state))
            {
                perTrade.Add($"trade {tradeId}: version {expected.Version} (seq {expected.Seq}) in the journal, missing from ClickHouse trade_state");
            }
            else if (state.Version != expected.Version || state.Seq != expected.Seq)
            {
                perTrade.Add($"trade {tradeId}: version {expected.Version} (seq {expected.Seq}) in the journal, version {state.Version} (seq {state.Seq}) in ClickHouse trade_state");
            }

            var eventVersion = eventVersions.GetValueOrDefault(tradeId);
            if (eventVersion != expected.Version)
            {
                perTrade.Add($"trade {tradeId}: latest event version {expected.Version} in the journal, {eventVersion} in ClickHouse trade_events");
            }
        }

        foreach (var tradeId in stateVersions.Keys.Concat(eventVersions.Keys).Distinct(StringComparer.Ordinal).Where(id => !journal.Trades.ContainsKey(id)).Order(StringComparer.Ordinal))
        {
            perTrade.Add($"trade {tradeId}: in ClickHouse, not in the journal");
        }

        differences.AddRange(perTrade.Take(MaxListed));
        if (perTrade.Count > MaxListed)
        {
            differences.Add($"… and {perTrade.Count - MaxListed} more trades differ");
        }

        return new VerificationReport("clickhouse", facts, differences);
    }

    /// <summary>
    /// Names the journal's seqs 1..<paramref name="upTo"/> that ClickHouse lacks (the journal has every seq, so each one
    /// ClickHouse lacks below its own <c>max(seq)</c> was lost there: a part dropped, rows deleted, an older backup
    /// merged in), as ranges, the first <see cref="MaxListed"/> of them with the trade of a lone missing event. The
    /// sync refills only what lies past ClickHouse's <c>max(seq)</c>, so these stay missing until ClickHouse is
    /// rebuilt. Counted per <see cref="SeqBucket"/> seqs first, so only the buckets with a hole are read seq by seq.
    /// </summary>
    private async Task<List<string>> DescribeMissingAsync(long upTo, CancellationToken cancellationToken)
    {
        var db = client.Database;
        var buckets = await client.QueryRowsAsync(
            $"SELECT intDiv(seq - 1, {SeqBucket}) AS bucket, uniqExact(seq) AS present FROM trade_events WHERE seq BETWEEN 1 AND {upTo} GROUP BY bucket ORDER BY bucket",
            cancellationToken, db);
        var present = buckets.ToDictionary(b => ClickHouseJson.Int64(b, "bucket"), b => ClickHouseJson.Int64(b, "present"));
        var missing = new List<(long From, long To)>();
        var missingEvents = 0L;
        for (var bucket = 0L; bucket <= (upTo - 1) / SeqBucket; bucket++)
        {
            var first = (bucket * SeqBucket) + 1;
            var last = Math.Min(first + SeqBucket - 1, upTo);
            var expected = last - first + 1;
            var found = present.GetValueOrDefault(bucket);
            if (found == expected)
            {
                continue;
            }

            missingEvents += expected - found;
            if (missing.Count > MaxListed)
            {
                continue;
            }

            var seqs = found == 0
                ? []
                : (await client.QueryRowsAsync($"SELECT DISTINCT seq FROM trade_events WHERE seq BETWEEN {first} AND {last} ORDER BY seq", cancellationToken, db))
                    .Select(r => ClickHouseJson.Int64(r, "seq"));
            var next = first;
            foreach (var seq in seqs.Append(last + 1))
            {
                if (seq > next && missing.Count > 0 && missing[^1].To == next - 1)
                {
                    // A hole across the end of the previous group.
                    missing[^1] = (missing[^1].From, seq - 1);
                }
                else if (seq > next)
                {
                    missing.Add((next, seq - 1));
                }

                next = seq + 1;
            }
        }

        if (missing.Count == 0)
        {
            return [];
        }

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

    private static decimal Decimal(System.Text.Json.JsonElement row, string name) =>
        decimal.Parse(ClickHouseJson.String(row, name), NumberStyles.Number, CultureInfo.InvariantCulture);

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

        command.CommandText = "SELECT trade_id, version, last_seq FROM current_trade_state";
        var trades = new Dictionary<string, (long Version, long Seq)>(StringComparer.Ordinal);
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                trades[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2));
            }
        }

        var figures = new JournalFigures(events, maxSeq, quantity, filled, price, trades);
        return LogTail is { } tail ? figures.With(tail) : figures;
    }

    private sealed record JournalFigures(long Events, long MaxSeq, decimal QuantitySum, decimal FilledSum, decimal PriceSum, Dictionary<string, (long Version, long Seq)> Trades)
    {
        /// <summary>The figures once the start has replayed <paramref name="tail"/> into DuckDB (each trade's latest version, a delete included, as <c>current_trade_state</c> keeps it).</summary>
        public JournalFigures With(JournalLogTail tail)
        {
            if (tail.IsEmpty)
            {
                return this;
            }

            foreach (var (tradeId, latest) in tail.Latest)
            {
                Trades[tradeId] = (latest.Version, latest.Seq);
            }

            return this with
            {
                Events = Events + tail.Records,
                MaxSeq = tail.LastSeq,
                QuantitySum = QuantitySum + tail.QuantitySum,
                FilledSum = FilledSum + tail.FilledQuantitySum,
                PriceSum = PriceSum + tail.PriceSum,
            };
        }
    }
}
