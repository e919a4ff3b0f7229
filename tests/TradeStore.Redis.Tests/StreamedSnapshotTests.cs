using TradeStore.Core.Trades;
using TradeStore.Redis.Projection;

namespace TradeStore.Redis.Tests;

/// <summary>
/// <c>redis rebuild</c> and <c>verify --redis</c> stream the book from one DuckDB transaction in chunks instead of reading
/// it whole into a list (about 2 GB for 2,000,000 trades), and find stale trade keys by asking DuckDB about batches of
/// scanned Redis keys instead of holding a set of every live key. Here the chunks and batches are a few trades and keys,
/// so every result crosses their boundaries: positions of an account whose trades fall in every chunk, stale keys
/// spread over several batches, a difference in the last chunk.
/// </summary>
public sealed class StreamedSnapshotTests
{
    private const int Chunk = 7;
    private const int KeyBatch = 5;
    private const int Trades = 40;
    private static readonly int[] Deleted = [3, 10, 17, 24, 31, 38];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Rebuild_ChunksAndKeyBatchesSmallerThanTheBook_SameProjectionAsTheProjectorsAndEveryStaleKeyRemoved()
    {
        await using var book = await ProjectedJournal.CreateAsync(nameof(StreamedSnapshotTests), "redis-streamed-rebuild");
        var (redis, journal) = (book.Redis, book.Journal);
        await book.ProjectAsync(CommitBook);
        var projected = await redis.DumpAsync();
        await redis.DeleteAllAsync();
        var stale = await AddStaleTradeKeysAsync(redis, ghosts: 6);

        var report = await new RedisRebuilder(journal.Database, redis.Keys, 1_000_000) { ChunkSize = Chunk, KeyBatchSize = KeyBatch }
            .RebuildAsync(redis.Database, Ct);

        Assert.Equal(Trades - Deleted.Length, report.Trades);
        Assert.Equal(stale.Count, report.RemovedTradeKeys);
        Assert.Equal(journal.LastSeq, report.StreamEntriesAdded);
        Assert.Equal(projected, await redis.DumpAsync());
        var boughtByAcc0 = journal.States.Values.Where(t => t.Account == "ACC-0" && t.Status != TradeStatus.Deleted && t.Side == Side.Buy).Sum(t => t.FilledQuantity);
        Assert.Equal(RedisFormat.Decimal(boughtByAcc0), (string)(await redis.Database.HashGetAsync(redis.Keys.Positions("ACC-0"), "XYZ" + PositionFields.BoughtQuantity))!);
    }

    [Fact]
    public async Task Verify_ChunksAndKeyBatchesSmallerThanTheBook_FindsEachDifferenceOnce()
    {
        await using var book = await ProjectedJournal.CreateAsync(nameof(StreamedSnapshotTests), "redis-streamed-verify");
        var (redis, journal) = (book.Redis, book.Journal);
        await book.ProjectAsync(CommitBook);
        var verifier = new RedisVerifier(redis.Keys) { PipelineSize = Chunk, KeyBatchSize = KeyBatch };
        var clean = await verifier.VerifyAsync(redis.Database, journal.Database, Ct);
        Assert.True(clean.IsClean, string.Join("\n", clean.Differences));

        string lastTrade;
        using (var snapshot = ProjectionSnapshot.Open(journal.Database))
        {
            lastTrade = snapshot.ReadTrades(Chunk, Ct).Last()[^1].TradeId;
        }

        var price = journal.States[lastTrade].Price;
        await redis.Database.HashSetAsync(redis.Keys.Trade(lastTrade), "price", "1");
        var stale = await AddStaleTradeKeysAsync(redis, ghosts: 11);
        var net = (string)(await redis.Database.HashGetAsync(redis.Keys.Positions("ACC-0"), "XYZ:net"))!;
        await redis.Database.HashSetAsync(redis.Keys.Positions("ACC-0"), "XYZ:net", "999");

        var report = await verifier.VerifyAsync(redis.Database, journal.Database, Ct);

        List<string> expected =
        [
            $"trade {lastTrade}: field price is 1 in Redis, {RedisFormat.Decimal(price)} in DuckDB",
            $"positions of ACC-0: field XYZ:net is 999 in Redis, {net} in DuckDB",
            .. stale.Select(id => $"trade {id}: {redis.Keys.Trade(id)} exists in Redis but the trade is deleted or unknown in DuckDB"),
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), report.Differences.Order(StringComparer.Ordinal));
        Assert.Equal(Trades - Deleted.Length, report.TradesChecked);
        Assert.Equal(clean.PositionsChecked, report.PositionsChecked);
    }

    /// <summary>
    /// The snapshot is one transaction held open while its trades stream: a commit made between two chunks is not in it,
    /// and the positions are summed as the trades pass, so they are known only after the last chunk.
    /// </summary>
    [Fact]
    public async Task Snapshot_CommitBetweenChunks_NotSeenAndPositionsKnownAfterTheLastChunk()
    {
        await using var book = await ProjectedJournal.CreateAsync(nameof(StreamedSnapshotTests), "redis-streamed-snapshot");
        var (redis, journal) = (book.Redis, book.Journal);
        await book.ProjectAsync(CommitBook);
        var live = journal.States.Values.Where(t => t.Status != TradeStatus.Deleted).ToList();
        var seq = journal.LastSeq;

        using var snapshot = ProjectionSnapshot.Open(journal.Database);
        var chunks = new List<Trade[]>();
        foreach (var chunk in snapshot.ReadTrades(Chunk, Ct))
        {
            if (chunks.Count == 0)
            {
                Assert.Throws<InvalidOperationException>(() => snapshot.Positions);
                journal.Commit(new CreateTrade("LATE-1", "ACC-0", "XYZ", Side.Buy, 5m, 1m), new FillTrade("LATE-1", 5m, 1m), new DeleteTrade("B-00"));
            }

            chunks.Add(chunk);
        }

        Assert.All(chunks.SkipLast(1), chunk => Assert.Equal(Chunk, chunk.Length));
        Assert.Equal(live.Select(t => t.TradeId).Order(StringComparer.Ordinal), chunks.SelectMany(c => c).Select(t => t.TradeId).Order(StringComparer.Ordinal));
        Assert.Equal(seq, snapshot.LastSeq);
        Assert.Equal(live.Count, snapshot.TradeCount);
        Assert.Equal(new[] { "B-00" }, snapshot.LiveOf(["B-00", "LATE-1", "B-03"]).Order(StringComparer.Ordinal));
        var tally = new PositionTally();
        live.ForEach(tally.Add);
        Assert.Equal(tally.ToList(), snapshot.Positions);
    }

    /// <summary>
    /// Trades B-00 … B-39 of accounts ACC-0 … ACC-2 (every third trade each, so every chunk holds some of each), all filled
    /// in part, six deleted.
    /// </summary>
    private static void CommitBook(TestJournal journal)
    {
        for (var i = 0; i < Trades; i++)
        {
            var id = $"B-{i:00}";
            journal.Commit(new CreateTrade(id, $"ACC-{i % 3}", "XYZ", i % 4 == 0 ? Side.Sell : Side.Buy, 10m + i, 2.5m), new FillTrade(id, 1m + (i % 5), 2m + (i % 7)));
        }

        journal.Commit([.. Deleted.Select(i => new DeleteTrade($"B-{i:00}"))]);
    }

    /// <summary>Trade hashes no live trade has: the deleted trades' and <paramref name="ghosts"/> unknown ones; returns their trade ids.</summary>
    private static async Task<List<string>> AddStaleTradeKeysAsync(RedisScope redis, int ghosts)
    {
        List<string> ids = [.. Deleted.Select(i => $"B-{i:00}"), .. Enumerable.Range(0, ghosts).Select(i => $"GHOST-{i:00}")];
        foreach (var id in ids)
        {
            await redis.Database.HashSetAsync(redis.Keys.Trade(id), "tradeId", id);
        }

        return ids;
    }
}
