using System.Globalization;
using DuckDB.NET.Data;
using TradeStore.Core.Trades;

namespace TradeStore.Storage.Integrity;

/// <summary>Two journal events that carry the same stored idempotency key, the second within the retention of the first.</summary>
public sealed record KeyAppliedTwice(string StoredKey, long FirstSeq, string FirstTradeId, long FirstVersion, string FirstType,
    long Seq, string TradeId, long Version, string Type, TimeSpan Apart)
{
    /// <summary>One line: the key as its caller sent it (and whose), both events, and how far apart.</summary>
    public string Describe()
    {
        var caller = IdempotencyKeys.FingerprintAt(StoredKey) is > 0 and var at ? $" (caller {StoredKey[..(at - 1)]})" : string.Empty;
        return $"key '{IdempotencyKeys.ClientKey(StoredKey)}'{caller}: seq {FirstSeq} ({FirstType} {FirstTradeId} v{FirstVersion}) and " +
               $"seq {Seq} ({Type} {TradeId} v{Version}), {Apart.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s apart";
    }
}

/// <summary>What <see cref="IdempotencyKeyCheck"/> found: how many keyed events it read, and every key applied twice (the first few named).</summary>
public sealed record IdempotencyKeyReport(long KeyedEvents, TimeSpan Retention, long Pairs, IReadOnlyList<KeyAppliedTwice> Examples)
{
    public bool IsHealthy => Pairs == 0;
}

/// <summary>
/// Looks in DuckDB's journal for an idempotency key applied twice: two events with the same stored key
/// (<c>{caller}:{fingerprint}:{key}</c>, or a plain key) recorded less than the retention apart. Within the retention the
/// engine answers a retry from the first event and writes nothing, so such a pair means a request took effect twice,
/// which exactly-once must prevent. A key sent again after the retention is a new request by design, and its second
/// event is no finding. Read-only; <c>tradestore verify</c> runs it (a start-up does not: it would refuse to start on
/// history it cannot change).
/// </summary>
public static class IdempotencyKeyCheck
{
    private const int Examples = 5;

    /// <summary>Most keyed events one statement groups at a time (by a hash of the key), as <see cref="IntegrityChecker"/> parts its trades.</summary>
    internal const long EventsPerPart = 1_000_000;

    /// <param name="retention">The retention the events were written under (<c>Engine:IdempotencyKeyRetention</c>).</param>
    /// <exception cref="DuckDBException">DuckDB cannot read the journal.</exception>
    public static IdempotencyKeyReport Check(DuckDbDatabase database, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        using var connection = database.OpenConnection();
        var keyed = DuckDbScalar.Int64(connection, "SELECT count(*) FROM trade_events WHERE idempotency_key IS NOT NULL");
        var parts = Math.Max(1, (keyed + EventsPerPart - 1) / EventsPerPart);
        var retentionUs = (retention.Ticks / TimeSpan.TicksPerMicrosecond).ToString(CultureInfo.InvariantCulture);
        var found = new List<KeyAppliedTwice>();
        var pairs = 0L;
        for (var part = 0L; part < parts; part++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var inPart = parts == 1 ? "TRUE" : string.Create(CultureInfo.InvariantCulture, $"hash(idempotency_key) % {parts} = {part}");
            using var command = connection.CreateCommand();
            // Only the keys held more than once are windowed: the GROUP BY holds one part's keys, the window a handful of rows.
            command.CommandText = $"""
                SELECT idempotency_key, first_seq, first_trade, first_version, first_type, seq, trade_id, version, event_type,
                       epoch_us(recorded_at) - epoch_us(first_at)
                FROM (
                    SELECT idempotency_key, seq, trade_id, version, event_type, recorded_at,
                           lag(seq) OVER w AS first_seq, lag(trade_id) OVER w AS first_trade, lag(version) OVER w AS first_version,
                           lag(event_type) OVER w AS first_type, lag(recorded_at) OVER w AS first_at
                    FROM trade_events
                    WHERE idempotency_key IN (
                        SELECT idempotency_key FROM trade_events WHERE idempotency_key IS NOT NULL AND {inPart}
                        GROUP BY idempotency_key HAVING count(*) > 1)
                    WINDOW w AS (PARTITION BY idempotency_key ORDER BY seq))
                WHERE first_seq IS NOT NULL AND epoch_us(recorded_at) - epoch_us(first_at) < {retentionUs}
                ORDER BY first_seq
                """;
            using var reader = command.ExecuteReader();
            for (var inThisPart = 0; reader.Read(); inThisPart++)
            {
                pairs++;
                if (inThisPart >= Examples)
                {
                    continue; // counted; the first few of each part are enough to name the first few of all
                }

                found.Add(new KeyAppliedTwice(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3), reader.GetString(4),
                    reader.GetInt64(5), reader.GetString(6), reader.GetInt64(7), reader.GetString(8), TimeSpan.FromMicroseconds(reader.GetInt64(9))));
            }
        }

        return new IdempotencyKeyReport(keyed, retention, pairs, [.. found.OrderBy(pair => pair.FirstSeq).Take(Examples)]);
    }
}
