using CsCheck;
using TradeStore.Core.Trades;

namespace TradeStore.Storage.Tests;

/// <summary>
/// Random command sequences through the real engine (queued without waiting, so batches mix them) compared
/// with <see cref="TradeLifecycle"/> folded in memory; then the journal-level invariants.
/// </summary>
public sealed class EnginePropertyTests
{
    private static readonly Gen<TradeCommand[]> Sequences =
        Gen.Select(Gen.Int[0, 9], Gen.Int[0, 5], Gen.Int[0, 12], Gen.Int[0, 6], Gen.Int[0, 3])
            .Select(t => Make(t.Item1, t.Item2, t.Item3, t.Item4, t.Item5))
            .Array[1, 40];

    [Fact]
    public async Task SubmitAsync_RandomSequences_AgreeWithLifecycleFoldAndSurviveRestart()
    {
        await using var harness = EngineHarness.Start();
        var expected = new Dictionary<string, Trade>();
        var run = 0;

        await Sequences.SampleAsync(async commands =>
        {
            var prefix = $"R{Interlocked.Increment(ref run)}-";
            var scoped = commands.Select(c => c with { TradeId = prefix + c.TradeId }).ToArray();
            var results = await Task.WhenAll(scoped.Select(c => harness.Submit(c).AsTask()));

            for (var i = 0; i < scoped.Length; i++)
            {
                expected.TryGetValue(scoped[i].TradeId, out var current);
                var decided = TradeLifecycle.TryDecide(scoped[i], current, 0, DateTimeOffset.UnixEpoch, out var transition, out var error);
                Assert.Equal(decided, results[i].Succeeded);
                Assert.Equal(error?.Kind, results[i].Error?.Kind);
                if (decided)
                {
                    Assert.Equal(Comparable(transition.State), Comparable(results[i].Trade!));
                    expected[scoped[i].TradeId] = results[i].Trade!;
                }
            }
        }, iter: 60, threads: 1);

        AssertMatches(harness, expected);
        AssertJournalInvariants(harness);
        await harness.RestartAsync();
        AssertMatches(harness, expected);
        AssertJournalInvariants(harness);
    }

    [Fact]
    public async Task GetPositions_AfterMixedWorkload_EqualsRecomputationFromJournal()
    {
        await using var harness = EngineHarness.Start();
        var random = new Random(7);
        var commands = Enumerable.Range(0, 3_000).Select(_ => Make(random.Next(10), random.Next(200), random.Next(13), random.Next(7), random.Next(4))).ToArray();

        foreach (var chunk in commands.Chunk(250))
        {
            await Task.WhenAll(chunk.Select(c => harness.Submit(c).AsTask()));
        }

        AssertJournalInvariants(harness);
        await harness.RestartAsync();
        AssertJournalInvariants(harness);
    }

    internal static void AssertJournalInvariants(EngineHarness harness)
    {
        // Every event seq is gap-free from 1, and the current state is the last journal row of each trade.
        var events = harness.Scalar("SELECT count(*) FROM trade_events");
        Assert.Equal(events, harness.Scalar("SELECT coalesce(max(seq), 0) FROM trade_events"));
        Assert.Equal(events == 0 ? 0 : 1, harness.Scalar("SELECT coalesce(min(seq), 0) FROM trade_events"));
        Assert.Equal(0, harness.Scalar("""
            SELECT count(*) FROM (
                SELECT trade_id, max(version) AS version, max(seq) AS seq FROM trade_events GROUP BY trade_id) j
            FULL JOIN current_trade_state s USING (trade_id)
            WHERE s.version IS DISTINCT FROM j.version OR s.last_seq IS DISTINCT FROM j.seq
            """));

        var recomputed = new List<Position>();
        using (var connection = harness.Database.OpenConnection())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                SELECT account, symbol,
                       sum(CASE WHEN side = 'buy' THEN last_quantity ELSE 0 END),
                       sum(CASE WHEN side = 'buy' THEN last_quantity * last_price ELSE 0 END),
                       sum(CASE WHEN side = 'sell' THEN last_quantity ELSE 0 END),
                       sum(CASE WHEN side = 'sell' THEN last_quantity * last_price ELSE 0 END)
                FROM trade_events
                WHERE event_type = 'fill'
                  AND trade_id NOT IN (SELECT trade_id FROM trade_events WHERE event_type = 'delete')
                GROUP BY account, symbol
                ORDER BY account, symbol
                """;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                recomputed.Add(new Position(reader.GetString(0), reader.GetString(1), reader.GetDecimal(2), reader.GetDecimal(3), reader.GetDecimal(4), reader.GetDecimal(5)));
            }
        }

        Assert.Equal(recomputed.Where(p => !p.IsEmpty).OrderBy(p => p.Account, StringComparer.Ordinal).ThenBy(p => p.Symbol, StringComparer.Ordinal),
            harness.Queries.GetPositionsAtOneSeq(null, out _));
    }

    private static void AssertMatches(EngineHarness harness, Dictionary<string, Trade> expected)
    {
        foreach (var (id, trade) in expected)
        {
            Assert.Equal(trade.Status == TradeStatus.Deleted ? null : trade, harness.Queries.GetTrade(id));
            Assert.Equal(trade, harness.Index.Find(id));
        }

        Assert.Equal(expected.Count, harness.Scalar("SELECT count(*) FROM current_trade_state"));
    }

    /// <summary>What the fold cannot know: the engine's clock and global seq.</summary>
    private static Trade Comparable(Trade t) => t with { LastSeq = 0, CreatedAt = default, UpdatedAt = default, ExecutedAt = default };

    private static TradeCommand Make(int kind, int id, int quantity, int price, int version)
    {
        var tradeId = $"T{id}";
        long? expected = version == 0 ? null : version;
        return kind switch
        {
            0 or 1 or 2 => new CreateTrade(tradeId, $"A{id % 2}", $"S{id % 3}", id % 2 == 0 ? Side.Buy : Side.Sell, quantity + 1, price + 0.5m),
            3 or 4 or 5 => new FillTrade(tradeId, (quantity / 2m) + 0.25m, price + 1.125m),
            6 => new AmendTrade(tradeId, expected, Quantity: quantity + 1),
            7 => new AmendTrade(tradeId, expected, Price: price),
            8 => new CancelTrade(tradeId, expected),
            _ => new DeleteTrade(tradeId, expected),
        };
    }
}
