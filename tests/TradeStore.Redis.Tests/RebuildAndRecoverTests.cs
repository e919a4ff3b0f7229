using Microsoft.Extensions.Diagnostics.HealthChecks;
using TradeStore.Core.Trades;
using TradeStore.Redis.Projection;
using TradeStore.Storage;
using TradeStore.Storage.Journal;
using TradeStore.Storage.Recovery;
using TradeStore.TestSupport;

namespace TradeStore.Redis.Tests;

public sealed class RebuildAndRecoverTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Rebuild_AfterProjectionWiped_RestoresIdenticalProjection()
    {
        await using var book = await ProjectedJournal.CreateAsync(nameof(RebuildAndRecoverTests), "redis-rebuild");
        var (redis, journal) = (book.Redis, book.Journal);
        await ProjectMixAsync(book, batches: 40, seed: 11);
        var before = await redis.DumpAsync();

        await redis.DeleteAllAsync();
        Assert.Empty(await redis.KeysAsync());
        var report = await new RedisRebuilder(journal.Database, redis.Keys, 1_000_000).RebuildAsync(redis.Database, Ct);

        Assert.Equal(journal.LastSeq, report.Checkpoint);
        Assert.Equal(before, await redis.DumpAsync());
    }

    /// <summary>
    /// A reader that copies the projection reads the checkpoint, the trade hashes, then follows the stream from the
    /// checkpoint. An online <c>redis rebuild</c> removes the trade hashes first and the checkpoint after (the projector
    /// must not replay while hashes are still being removed), so a copy read in between had the old checkpoint, hashes
    /// missing, and nothing in Redis to tell (seen with a reader on a real serve: checkpoint 21434 before and after its
    /// scan, 2673 of 6344 trades). The generation key changes with every reset and only then: at a rebuild (online or
    /// not) and when the projector refills a Redis that came back empty.
    /// </summary>
    [Fact]
    public async Task Generation_ChangesWithEveryResetOfTheProjectionAndNotWithItsBatches()
    {
        await using var book = await ProjectedJournal.CreateAsync(nameof(RebuildAndRecoverTests), "redis-generation");
        var (redis, journal) = (book.Redis, book.Journal);
        await ProjectMixAsync(book, batches: 10, seed: 31);
        var first = await GenerationAsync(redis);
        Assert.NotNull(first);
        await ProjectMixAsync(book, batches: 10, seed: 32);
        Assert.Equal(first, await GenerationAsync(redis));

        await RedisRebuilder.ClearForReplayAsync(redis.Database, redis.Keys, Ct);
        var cleared = await GenerationAsync(redis);
        Assert.NotEqual(first, cleared);
        await ProjectMixAsync(book, batches: 3, seed: 33);
        Assert.Equal(journal.LastSeq, (long)await redis.Database.StringGetAsync(redis.Keys.Checkpoint));
        Assert.Equal(cleared, await GenerationAsync(redis));

        await redis.DeleteAllAsync();
        await ProjectMixAsync(book, batches: 3, seed: 34);
        var refilled = await GenerationAsync(redis);
        Assert.NotNull(refilled);
        Assert.NotEqual(cleared, refilled);

        await new RedisRebuilder(journal.Database, redis.Keys, 1_000_000).RebuildAsync(redis.Database, Ct);
        var rebuilt = await GenerationAsync(redis);
        Assert.NotNull(rebuilt);
        Assert.NotEqual(refilled, rebuilt);
    }

    private static async Task<string?> GenerationAsync(RedisScope redis) => await redis.Database.StringGetAsync(redis.Keys.Generation);

    /// <summary>
    /// <c>redis rebuild</c> and <c>verify --redis</c> of 1,929,000 trades ran 114 s and 165 s without a line; they now say
    /// how far they got (every 5 s; here at every step) in the trades, the scan for stale trade keys and the change stream.
    /// </summary>
    [Fact]
    public async Task RebuildAndVerify_LongPass_SayHowFarTheyGot()
    {
        await using var book = await ProjectedJournal.CreateAsync(nameof(RebuildAndRecoverTests), "redis-progress");
        var (redis, journal) = (book.Redis, book.Journal);
        await ProjectMixAsync(book, batches: 40, seed: 17);
        await redis.DeleteAllAsync();
        var rebuilt = new List<string>();
        var verified = new List<string>();

        var report = await new RedisRebuilder(journal.Database, redis.Keys, 1_000_000) { Progress = rebuilt.Add, ProgressEvery = TimeSpan.Zero, KeyBatchSize = 10 }
            .RebuildAsync(redis.Database, Ct);
        var check = await new RedisVerifier(redis.Keys) { Progress = verified.Add, ProgressEvery = TimeSpan.Zero, KeyBatchSize = 10 }
            .VerifyAsync(redis.Database, journal.Database, Ct);

        Assert.True(check.IsClean, string.Join("; ", check.Differences));
        Assert.Equal($"wrote 0 of {report.Trades} trades", rebuilt[0][..rebuilt[0].LastIndexOf(" (", StringComparison.Ordinal)]);
        Assert.All(rebuilt, line => Assert.Matches(@"^(wrote \d+ of \d+ trades|wrote every trade; looking for stale trade keys: \d+ of about \d+ Redis trade keys scanned|wrote every trade; change stream filled up to seq \d+ of \d+) \(\d+ s\)$", line));
        Assert.Contains(rebuilt, line => line.StartsWith("wrote every trade; change stream filled up to seq 0 of", StringComparison.Ordinal));
        Assert.Equal($"compared 0 of {report.Trades} trades", verified[0][..verified[0].LastIndexOf(" (", StringComparison.Ordinal)]);
        Assert.Contains(verified, line => line.StartsWith("compared every trade and position; checked 0 change stream entries", StringComparison.Ordinal));

        // The scan for trade keys DuckDB no longer holds, a minute at 3,500,000 trades, says how far it got too, in both.
        Assert.Contains(rebuilt, line => line.StartsWith($"wrote every trade; looking for stale trade keys: 10 of about {report.Trades} Redis trade keys scanned", StringComparison.Ordinal));
        Assert.Contains(verified, line => line.StartsWith($"compared every trade; looking for stale trade keys: 10 of about {report.Trades} Redis trade keys scanned", StringComparison.Ordinal));
    }

    /// <summary>
    /// An entry deleted inside the change stream (XDEL) is restored by the offline rebuild, which rewrites the stream
    /// whole; appending alone (the rebuild's only way before) can add nothing before the stream's last entry.
    /// </summary>
    [Fact]
    public async Task Rebuild_OfflineStreamWithAGapInside_StreamRewrittenWhole()
    {
        await using var book = await ProjectedJournal.CreateAsync(nameof(RebuildAndRecoverTests), "redis-rebuild-gap");
        var (redis, journal) = (book.Redis, book.Journal);
        await ProjectMixAsync(book, batches: 10, seed: 13);
        var before = await redis.DumpAsync();
        await redis.Database.StreamDeleteAsync(redis.Keys.Stream, [RedisFormat.StreamId(journal.LastSeq / 2), RedisFormat.StreamId(journal.LastSeq / 2 + 1)]);

        var report = await new RedisRebuilder(journal.Database, redis.Keys, 1_000_000).RebuildAsync(redis.Database, Ct, repairStreamGaps: true);

        Assert.Equal(2, report.StreamGapsRepaired);
        Assert.Equal(journal.LastSeq, report.StreamEntriesAdded);
        Assert.Equal(before, await redis.DumpAsync());
    }

    [Fact]
    public async Task Rebuild_WhileProjectorApplies_ConvergesToJournal()
    {
        await using var book = await ProjectedJournal.CreateAsync(nameof(RebuildAndRecoverTests), "redis-rebuild-live");
        var (redis, journal) = (book.Redis, book.Journal);
        await using var connection = redis.Connection();
        using var projector = redis.Projector(journal.Database, connection, maxBatchSize: 16);
        journal.Observers.Add(projector);
        await projector.StartAsync(Ct);
        var mix = new CommandMix(seed: 5, idPrefix: "L");
        var rebuilder = new RedisRebuilder(journal.Database, redis.Keys, 1_000_000);

        for (var round = 0; round < 5; round++)
        {
            var rebuild = Task.Run(() => rebuilder.RebuildAsync(redis.Database, Ct), Ct);
            for (var i = 0; i < 10; i++)
            {
                journal.Commit(mix.Batch(journal.States, 8));
            }

            await rebuild;
        }

        projector.Resync();
        await ProjectorTests.WaitForCheckpointAsync(redis, journal.LastSeq);
        await projector.StopAsync(Ct);
        var report = await new RedisVerifier(redis.Keys).VerifyAsync(redis.Database, journal.Database, Ct);
        Assert.True(report.IsClean, string.Join("\n", report.Differences));
    }

    [Fact]
    public async Task ClearForReplay_WhileEngineWrites_ProjectorReplaysJournalToIdenticalProjection()
    {
        await using var redis = await RedisScope.SharedAsync(nameof(RebuildAndRecoverTests));
        using var dir = new TempDirectory("redis-online-rebuild");
        long lastSeq;
        await using (var engine = await EngineScope.StartAsync(redis, dir.DatabasePath, maxBatchSize: 32))
        {
            var mix = new CommandMix(seed: 17, idPrefix: "N");
            for (var i = 0; i < 20; i++)
            {
                await engine.SubmitAsync(mix.Batch(engine.States, 10));
            }

            await ProjectorTests.WaitForCheckpointAsync(redis, engine.Engine.LastSeq);
            await redis.Database.HashSetAsync(redis.Keys.Positions("ACC-1"), "AAPL:net", "12345");
            var clear = RedisRebuilder.ClearForReplayAsync(redis.Database, redis.Keys, Ct);
            for (var i = 0; i < 20; i++)
            {
                await engine.SubmitAsync(mix.Batch(engine.States, 10));
            }

            await clear;
            await engine.SubmitAsync(mix.Batch(engine.States, 5));
            lastSeq = engine.Engine.LastSeq;
            await ProjectorTests.WaitForCheckpointAsync(redis, lastSeq);
        }

        using var database = Storage.DuckDbDatabase.Open(dir.DatabasePath);
        var report = await new RedisVerifier(redis.Keys).VerifyAsync(redis.Database, database, Ct);
        Assert.True(report.IsClean, string.Join("\n", report.Differences));
        Assert.Equal(lastSeq, report.StreamEntries);
    }

    [Fact]
    public async Task Recover_DuckDbCopiedBeforeLastTrades_JournalAndStateEqualOriginal()
    {
        await using var book = await ProjectedJournal.CreateAsync(nameof(RebuildAndRecoverTests), "redis-recover");
        var redis = book.Redis;
        await ProjectMixAsync(book, batches: 20, seed: 3, copyAfter: 12);
        var original = new JournalReader(book.Journal.Database).ReadAfter(0, int.MaxValue);
        var originalState = StateRows(book.Journal);

        var restored = book.RestoreCopy();
        var lastBefore = restored.LastSeq;
        Assert.InRange(lastBefore, 1, original.Count - 1);

        var report = await new JournalRecovery(restored.Database).RecoverAsync(new RedisRecoverySource(redis.Database, redis.Keys), Ct);

        Assert.Equal(RecoveryOutcome.Recovered, report.Outcome);
        Assert.Equal(original.Count - lastBefore, report.EventsRecovered);
        Assert.Equal(original, new JournalReader(restored.Database).ReadAfter(0, int.MaxValue));
        Assert.Equal(originalState, StateRows(restored));
        var again = await new JournalRecovery(restored.Database).RecoverAsync(new RedisRecoverySource(redis.Database, redis.Keys), Ct);
        Assert.Equal(RecoveryOutcome.NothingToRecover, again.Outcome);
    }

    [Fact]
    public async Task Recover_StreamOldestEntryBeyondGap_RefusedWithReportAndNothingWritten()
    {
        await using var book = await ProjectedJournal.CreateAsync(nameof(RebuildAndRecoverTests), "redis-recover-gap");
        var redis = book.Redis;
        await ProjectMixAsync(book, batches: 10, seed: 4, copyAfter: 3);

        var restored = book.RestoreCopy();
        var lastBefore = restored.LastSeq;
        // The stream lost its oldest entries (MAXLEN trimming): it now starts two events after the restored journal.
        await redis.Database.StreamTrimByMinIdAsync(redis.Keys.Stream, RedisFormat.StreamId(lastBefore + 3));

        var report = await new JournalRecovery(restored.Database).RecoverAsync(new RedisRecoverySource(redis.Database, redis.Keys), Ct);

        Assert.Equal(RecoveryOutcome.Refused, report.Outcome);
        Assert.Contains($"the journal ends at seq {lastBefore}", report.Message, StringComparison.Ordinal);
        Assert.Contains($"seq {lastBefore + 3}", report.Message, StringComparison.Ordinal);
        Assert.Contains($"Events {lastBefore + 1}..{lastBefore + 2} are in neither store", report.Message, StringComparison.Ordinal);
        Assert.Equal(lastBefore, new JournalReader(restored.Database).LastSeq());
    }

    [Fact]
    public async Task Projector_RedisAheadOfRestoredJournal_PausesUntilRecovered()
    {
        await using var book = await ProjectedJournal.CreateAsync(nameof(RebuildAndRecoverTests), "redis-ahead");
        var redis = book.Redis;
        await ProjectMixAsync(book, batches: 8, seed: 8, copyAfter: 4);
        var originalLast = book.Journal.LastSeq;

        var restored = book.RestoreCopy();
        await using var connection = redis.Connection();
        using var projector = redis.Projector(restored.Database, connection);
        await projector.StartAsync(Ct);
        await Eventually.TrueAsync(() => Task.FromResult(projector.Status.Paused), TimeSpan.FromSeconds(30), () => $"{projector.Status}");
        Assert.Contains("ahead of the journal", projector.Status.LastError, StringComparison.Ordinal);

        var report = await new JournalRecovery(restored.Database).RecoverAsync(new RedisRecoverySource(redis.Database, redis.Keys), Ct);
        Assert.Equal(RecoveryOutcome.Recovered, report.Outcome);
        await ProjectorTests.WaitForCheckpointAsync(redis, originalLast);
        await Eventually.TrueAsync(() => Task.FromResult(!projector.Status.Paused), TimeSpan.FromSeconds(30), () => $"{projector.Status}");
        await projector.StopAsync(Ct);
        var verify = await new RedisVerifier(redis.Keys).VerifyAsync(redis.Database, restored.Database, Ct);
        Assert.True(verify.IsClean, string.Join("\n", verify.Differences));
    }

    [Fact]
    public async Task Projector_RedisFoundAheadOfJournalAfterStart_WritesRefusedWithTheRecoverCommand()
    {
        await using var redis = await RedisScope.SharedAsync(nameof(RebuildAndRecoverTests));
        using var dir = new TempDirectory("redis-ahead-writes");
        // Redis holds events up to seq 5 that this (empty) journal lost.
        await redis.Database.StringSetAsync(redis.Keys.Checkpoint, "5");
        await using var engine = await EngineScope.StartAsync(redis, dir.DatabasePath);
        await Eventually.TrueAsync(() => Task.FromResult(engine.Projector.Status.Paused), TimeSpan.FromSeconds(30), () => $"{engine.Projector.Status}");

        var result = await engine.Engine.SubmitAsync(new CreateTrade("W1", "A", "XYZ", Side.Buy, 1m, 10m), Ct);

        Assert.False(result.Succeeded);
        Assert.Equal(CommandErrorKind.Unavailable, result.Error!.Kind);
        Assert.Contains("redis holds events up to seq 5, but the journal ends at seq 0", result.Error.Message, StringComparison.Ordinal);
        Assert.Contains("tradestore recover --from redis", result.Error.Message, StringComparison.Ordinal);
        // Not "Nothing was changed": a start on an empty data directory has created its (empty) database and log.
        Assert.Contains("No event was written.", result.Error.Message, StringComparison.Ordinal);
        Assert.Equal(0, engine.Engine.LastSeq); // no seq Redis holds was handed out
        Assert.Equal(HealthStatus.Unhealthy, (await new DuckDbHealthCheck(engine.Database).CheckHealthAsync(
            new HealthCheckContext { Registration = new HealthCheckRegistration("duckdb", _ => null!, HealthStatus.Unhealthy, null) }, Ct)).Status);
    }

    /// <summary>
    /// Projects <paramref name="batches"/> batches of 1 to 9 commands of a <see cref="CommandMix"/>; with
    /// <paramref name="copyAfter"/>, the database is copied (<see cref="ProjectedJournal.CopyDatabase"/>) after that batch.
    /// </summary>
    private static Task ProjectMixAsync(ProjectedJournal book, int batches, int seed, int? copyAfter = null) =>
        book.ProjectAsync(journal =>
        {
            var mix = new CommandMix(seed, idPrefix: $"R{seed}");
            for (var i = 1; i <= batches; i++)
            {
                journal.Commit(mix.Batch(journal.States, 1 + (i % 9)));
                if (i == copyAfter)
                {
                    book.CopyDatabase();
                }
            }
        });

    private static List<string> StateRows(TestJournal journal)
    {
        using var connection = journal.Database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT * FROM trade_state ORDER BY trade_id";
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        }

        return rows;
    }
}
