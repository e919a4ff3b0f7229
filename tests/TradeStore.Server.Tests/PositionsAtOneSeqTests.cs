using System.Globalization;
using System.Text;

namespace TradeStore.Server.Tests;

/// <summary>
/// <c>GET /v1/positions</c> is one state, the one its <c>TradeStore-Seq</c> names: every event up to that seq and none
/// after, while a writer moves positions concurrently. A client that reads positions and then follows
/// <c>/v1/changes?fromSeq=</c> that seq + 1 relies on it. Found by a concurrent checker (audit-s27-race F1): the header
/// was taken after the read (the answer lacked events it named) and the writer moved the index before its last seq
/// (the answer held an event past it), and a read of several positions could straddle a commit batch.
/// </summary>
public sealed class PositionsAtOneSeqTests : ApiTestBase
{
    private const int Symbols = 100;
    private const int Rounds = 60;
    private const string Account = "ACC-SEQ";

    [Fact]
    public async Task Positions_WhileBatchesOfFillsCommit_EachAnswerIsTheFoldOfTheJournalAtItsSeq()
    {
        var creates = new StringBuilder();
        for (var s = 0; s < Symbols; s++)
        {
            creates.Append(ApiClient.CreateBody($"PS-{s}", quantity: "100000", price: "1", account: Account, symbol: $"S{s}")).Append('\n');
        }

        var created = await Api.PostAsync("/v1/trades/batch", creates.ToString(), "application/x-ndjson");
        Assert.True(created.Code == 200 && created.Body.GetProperty("failed").GetInt32() == 0, created.Raw);

        // Each round fills every trade by 1 in one batch: the seq of each fill is in the batch's answer.
        var fills = new StringBuilder();
        for (var s = 0; s < Symbols; s++)
        {
            fills.Append(CultureInfo.InvariantCulture, $$"""{"type":"fill","tradeId":"PS-{{s}}","quantity":1,"price":2}""").Append('\n');
        }

        var fillSeqs = new List<(long Seq, string Symbol)>();
        var writing = true;
        var writer = Task.Run(async () =>
        {
            try
            {
                for (var round = 0; round < Rounds; round++)
                {
                    var answer = await Api.PostAsync("/v1/trades/batch", fills.ToString(), "application/x-ndjson");
                    Assert.True(answer.Code == 200 && answer.Body.GetProperty("failed").GetInt32() == 0, answer.Raw);
                    foreach (var result in answer.Body.GetProperty("results").EnumerateArray())
                    {
                        var trade = result.GetProperty("trade");
                        fillSeqs.Add((trade.GetProperty("lastSeq").GetInt64(), trade.GetProperty("symbol").GetString()!));
                    }
                }
            }
            finally
            {
                Volatile.Write(ref writing, false);
            }
        }, TestContext.Current.CancellationToken);

        var reads = new List<(long Seq, Dictionary<string, decimal> Bought)>();
        while (Volatile.Read(ref writing) || reads.Count == 0)
        {
            var answer = await Api.GetAsync($"/v1/positions?account={Account}");
            Assert.Equal(200, answer.Code);
            var bought = answer.Body.GetProperty("items").EnumerateArray()
                .ToDictionary(p => p.GetProperty("symbol").GetString()!, p => p.GetProperty("boughtQuantity").GetDecimal());
            reads.Add((long.Parse(answer.Headers.GetValues("TradeStore-Seq").Single(), CultureInfo.InvariantCulture), bought));
        }

        await writer;
        Assert.Equal(Symbols * Rounds, fillSeqs.Count);
        var wrong = new List<string>();
        foreach (var (seq, bought) in reads)
        {
            var expected = fillSeqs.Where(f => f.Seq <= seq).GroupBy(f => f.Symbol).ToDictionary(g => g.Key, g => (decimal)g.Count());
            if (expected.Count != bought.Count || expected.Any(e => !bought.TryGetValue(e.Key, out var q) || q != e.Value))
            {
                wrong.Add($"TradeStore-Seq {seq}: bought {string.Join(',', bought.Values.Distinct())} across symbols, the journal at {seq} gives {string.Join(',', expected.Values.Distinct())}");
            }
        }

        Assert.True(wrong.Count == 0, $"{wrong.Count} of {reads.Count} answers are not the positions at their TradeStore-Seq: {string.Join("; ", wrong.Take(5))}");
    }
}

/// <summary>
/// A list's <c>TradeStore-Seq</c> is taken before the read, so the page holds every trade created up to it (a trade
/// with a later <c>lastSeq</c> was written meanwhile). It was taken when the answer started, after the read, and named
/// creates the page did not hold (audit-s27-race F1).
/// </summary>
public sealed class ListAtSeqTests : ApiTestBase
{
    [Fact]
    public async Task List_WhileTradesAreCreated_HoldsEveryTradeUpToItsTradeStoreSeq()
    {
        var createdSeqs = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        var writing = true;
        var writer = Task.Run(async () =>
        {
            try
            {
                for (var round = 0; round < 40; round++)
                {
                    var batch = new StringBuilder();
                    for (var i = 0; i < 20; i++)
                    {
                        batch.Append(ApiClient.CreateBody($"LS-{round}-{i}", account: "ACC-LIST")).Append('\n');
                    }

                    var answer = await Api.PostAsync("/v1/trades/batch", batch.ToString(), "application/x-ndjson");
                    Assert.True(answer.Code == 200 && answer.Body.GetProperty("failed").GetInt32() == 0, answer.Raw);
                    foreach (var result in answer.Body.GetProperty("results").EnumerateArray())
                    {
                        var trade = result.GetProperty("trade");
                        createdSeqs[trade.GetProperty("tradeId").GetString()!] = trade.GetProperty("lastSeq").GetInt64();
                    }
                }
            }
            finally
            {
                Volatile.Write(ref writing, false);
            }
        }, TestContext.Current.CancellationToken);

        var reads = new List<(long Seq, HashSet<string> Ids)>();
        while (Volatile.Read(ref writing) || reads.Count == 0)
        {
            var answer = await Api.GetAsync("/v1/trades?account=ACC-LIST&limit=1000");
            Assert.Equal(200, answer.Code);
            var ids = answer.Body.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("tradeId").GetString()!).ToHashSet(StringComparer.Ordinal);
            reads.Add((long.Parse(answer.Headers.GetValues("TradeStore-Seq").Single(), CultureInfo.InvariantCulture), ids));
        }

        await writer;
        var wrong = reads
            .Select(r => (r.Seq, Missing: createdSeqs.Where(c => c.Value <= r.Seq && !r.Ids.Contains(c.Key)).Select(c => c.Key).ToList()))
            .Where(r => r.Missing.Count > 0)
            .ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {reads.Count} lists lack trades created at or before their TradeStore-Seq, e.g. seq {wrong.FirstOrDefault().Seq} lacks {string.Join(',', wrong.FirstOrDefault().Missing?.Take(5) ?? [])}");
    }
}
