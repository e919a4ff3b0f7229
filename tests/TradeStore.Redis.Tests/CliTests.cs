using System.Text.Json;
using TradeStore.Core.Trades;
using TradeStore.TestSupport;

namespace TradeStore.Redis.Tests;

/// <summary>The operator commands through the real <c>tradestore</c> executable.</summary>
public sealed class CliTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task VerifyAndRebuild_TamperedThenWipedProjection_ReportsDifferencesThenRestores()
    {
        await using var redis = await RedisScope.SharedAsync(nameof(CliTests));
        using var dir = new TempDirectory("redis-cli");
        await SeedAsync(redis, dir, batches: 15);
        var environment = Environment(redis);

        var clean = await RunAsync(["verify", "--redis", "--data", dir.Path], dir, environment);
        Assert.True(clean.ExitCode == 0, clean.Output);
        Assert.Contains("redis: OK", clean.Output, StringComparison.Ordinal);

        await redis.Database.HashSetAsync(redis.Keys.Trade("C-0"), "price", "1");
        await redis.Database.HashSetAsync(redis.Keys.Trade("ghost"), "tradeId", "ghost");
        var dirty = await RunAsync(["verify", "--redis", "--data", dir.Path], dir, environment);
        Assert.Equal(1, dirty.ExitCode);
        Assert.Contains("trade C-0: field price is 1 in Redis", dirty.Output, StringComparison.Ordinal);
        Assert.Contains("trade ghost:", dirty.Output, StringComparison.Ordinal);
        Assert.Contains("2 differences", dirty.Output, StringComparison.Ordinal);

        await redis.DeleteAllAsync();
        var rebuild = await RunAsync(["redis", "rebuild", "--data", dir.Path], dir, environment);
        Assert.True(rebuild.ExitCode == 0, rebuild.Output);
        Assert.Contains("Rebuilt the Redis projection", rebuild.Output, StringComparison.Ordinal);
        var after = await RunAsync(["verify", "--redis", "--data", dir.Path], dir, environment);
        Assert.True(after.ExitCode == 0, after.Output);
    }

    [Fact]
    public async Task Verify_RedisNotConfigured_ExitsTwoNamingTheKey()
    {
        using var dir = new TempDirectory("redis-cli-off");
        var result = await RunAsync(["verify", "--redis", "--data", dir.Path], dir, new Dictionary<string, string>());
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Redis:Connection is not set", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyAndRecover_NothingListensAtRedisPort_ExitOneSayingConnectionRefused()
    {
        using var dir = new TempDirectory("redis-cli-refused");
        var seeded = await RunAsync(["migrate", "up", "--data", dir.Path], dir, new Dictionary<string, string>());
        Assert.True(seeded.ExitCode == 0, seeded.Output);
        var address = $"127.0.0.1:{FreePort.Next()}";
        var environment = new Dictionary<string, string> { ["TRADESTORE__REDIS__CONNECTION"] = address };

        var verify = await RunAsync(["verify", "--redis", "--data", dir.Path], dir, environment);
        var recover = await RunAsync(["recover", "--from", "redis", "--data", dir.Path], dir, environment);

        Assert.Equal(1, verify.ExitCode);
        Assert.Contains($"tradestore: Redis at {address}: not connected (Connection refused)", verify.Output, StringComparison.Ordinal);
        Assert.Equal(1, recover.ExitCode);
        Assert.Contains($"tradestore: Redis at {address}: not connected (Connection refused)", recover.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Recover_FromRedisAfterRestoringOldCopy_AppendsTheMissingTail()
    {
        await using var redis = await RedisScope.SharedAsync(nameof(CliTests));
        using var dir = new TempDirectory("redis-cli-recover");
        using var restoredDir = new TempDirectory("redis-cli-restored");
        var lastSeq = await SeedAsync(redis, dir, batches: 12, copyAfter: (8, restoredDir.DatabasePath));

        var result = await RunAsync(["recover", "--from", "redis", "--data", restoredDir.Path], restoredDir, Environment(redis));

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains($"the journal now ends at seq {lastSeq}", result.Output, StringComparison.Ordinal);
        var verify = await RunAsync(["verify", "--redis", "--data", restoredDir.Path], restoredDir, Environment(redis));
        Assert.True(verify.ExitCode == 0, verify.Output);
    }

    [Fact]
    public async Task Tail_FromSeq_PrintsBacklogThenLiveEventsAsJsonLinesAndStopsOnSigint()
    {
        await using var redis = await RedisScope.SharedAsync(nameof(CliTests));
        using var dir = new TempDirectory("redis-cli-tail");
        var lastSeq = await SeedAsync(redis, dir, batches: 5);

        await using var tail = TradeStoreProcess.Start(["tail", "--from", "2"], dir.Path, Environment(redis));
        await Eventually.TrueAsync(() => Task.FromResult(Lines(tail).Count >= lastSeq - 1), TimeSpan.FromSeconds(30), () => tail.Output);
        using (var journal = new TestJournal(dir.DatabasePath))
        {
            // Live: events committed after tail started appear without restarting it.
            var live = journal.Commit(new CreateTrade("LIVE-1", "A", "XYZ", Side.Buy, 1m, 1m), new FillTrade("LIVE-1", 1m, 1m));
            await new Projection.ProjectionWriter(redis.Keys, 1000).ApplyAsync(redis.Database, live, lastSeq);
            lastSeq = journal.LastSeq;
        }

        await Eventually.TrueAsync(() => Task.FromResult(Lines(tail).Count >= lastSeq - 1), TimeSpan.FromSeconds(30), () => tail.Output);
        tail.Signal(2);
        var exit = await tail.WaitForExitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(0, exit);
        var events = Lines(tail).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal(Enumerable.Range(2, (int)lastSeq - 1).Select(i => (long)i), events.Select(e => e.GetProperty("seq").GetInt64()));
        Assert.Equal("create", events.First(e => e.GetProperty("tradeId").GetString() == "C-1").GetProperty("event").GetString());
        Assert.Equal("1", events[^1].GetProperty("filledQuantity").GetString());
    }

    /// <summary>
    /// Entries trimmed (Redis:StreamMaxLength) while tail was behind: the stream's ids are the journal's gap-free seqs, so
    /// the next entry's id jumps. Tail said so only at the start (--from before the stream's first entry); mid-follow it
    /// skipped them silently (a tail held up by a slow pipe printed seq 19550 then 20431, nothing on stderr). Here the
    /// stream's next entry comes two seqs on, as after a trim.
    /// </summary>
    [Fact]
    public async Task Tail_StreamJumpsPastEntriesItHadNotRead_SaysWhichSeqsAreMissing()
    {
        await using var redis = await RedisScope.SharedAsync(nameof(CliTests));
        using var dir = new TempDirectory("redis-cli-tail-gap");
        var lastSeq = await SeedAsync(redis, dir, batches: 3);

        await using var tail = TradeStoreProcess.Start(["tail", "--from", "2"], dir.Path, Environment(redis));
        await Eventually.TrueAsync(() => Task.FromResult(Lines(tail).Count >= lastSeq - 1), TimeSpan.FromSeconds(30), () => tail.Output);
        var last = (await redis.Database.StreamRangeAsync(redis.Keys.Stream, "-", "+", 1, StackExchange.Redis.Order.Descending))[0];
        var fields = last.Values.Select(v => v.Name == "seq" ? new StackExchange.Redis.NameValueEntry("seq", lastSeq + 3) : v).ToArray();
        await redis.Database.StreamAddAsync(redis.Keys.Stream, fields, messageId: $"{lastSeq + 3}-0");

        await Eventually.TrueAsync(() => Task.FromResult(Lines(tail).Count >= lastSeq), TimeSpan.FromSeconds(30), () => tail.Output);
        tail.Signal(2);
        Assert.Equal(0, await tail.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains($"tradestore: seq {lastSeq + 1}..{lastSeq + 2} (2 events) are missing from the stream before seq {lastSeq + 3}: trimmed (Redis:StreamMaxLength)",
            tail.Output, StringComparison.Ordinal);
        Assert.Equal(lastSeq + 3, JsonDocument.Parse(Lines(tail)[^1]).RootElement.GetProperty("seq").GetInt64());
    }

    /// <summary>
    /// A Redis restart while tail follows its stream (here one without persistence, which the projector refills from seq 1).
    /// Tail exited 1 on the closed socket, where tail --url rides through a server restart; it now retries from the last seq
    /// printed and goes on with every event once, in order.
    /// </summary>
    [Fact]
    public async Task Tail_RedisRestartedEmptyWhileFollowing_ResumesAfterTheLastSeqPrintedWithoutGapOrRepeat()
    {
        PrivateRedis.RequireServer();
        using var server = new PrivateRedis();
        await server.StartAsync();
        await using var redis = await RedisScope.OnAsync(server.Endpoint, "tail-restart:");
        using var dir = new TempDirectory("redis-cli-tail-restart");
        var lastSeq = await SeedAsync(redis, dir, batches: 3);

        await using var tail = TradeStoreProcess.Start(["tail", "--from", "1"], dir.Path, Environment(redis));
        await Eventually.TrueAsync(() => Task.FromResult(Lines(tail).Count >= lastSeq), TimeSpan.FromSeconds(30), () => tail.Output);
        server.Kill();
        await server.StartAsync();
        Assert.Empty(await redis.KeysAsync());

        using (var journal = new TestJournal(dir.DatabasePath))
        {
            await using var connection = redis.Connection();
            using var projector = redis.Projector(journal.Database, connection);
            journal.Observers.Add(projector);
            await projector.StartAsync(Ct);
            journal.Commit(new CreateTrade("AFTER-1", "A", "XYZ", Side.Buy, 1m, 1m), new FillTrade("AFTER-1", 1m, 2m));
            lastSeq = journal.LastSeq;
            await ProjectorTests.WaitForCheckpointAsync(redis, lastSeq, TimeSpan.FromSeconds(60));
            await projector.StopAsync(Ct);
        }

        await Eventually.TrueAsync(() => Task.FromResult(Lines(tail).Count >= lastSeq), TimeSpan.FromSeconds(60), () => tail.Output);
        tail.Signal(2);
        Assert.Equal(0, await tail.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        var seqs = Lines(tail).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("seq").GetInt64());
        Assert.Equal(Enumerable.Range(1, (int)lastSeq).Select(i => (long)i), seqs);
        Assert.Contains("retrying in 1 s from seq ", tail.Output, StringComparison.Ordinal);
    }

    private static List<string> Lines(TradeStoreProcess process) =>
        [.. process.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith('{'))];

    private static Dictionary<string, string> Environment(RedisScope redis) => new()
    {
        ["TRADESTORE__REDIS__CONNECTION"] = redis.Endpoint,
        ["TRADESTORE__REDIS__KEYPREFIX"] = redis.Prefix,
    };

    private static Task<(int ExitCode, string Output)> RunAsync(string[] arguments, TempDirectory dir, Dictionary<string, string> environment) =>
        TradeStoreProcess.RunAsync(arguments, dir.Path, environment, TimeSpan.FromSeconds(60));

    /// <summary>Writes trades C-0, C-1, … and mixed commands, projects them, and closes the database; returns the last seq.</summary>
    private static async Task<long> SeedAsync(RedisScope redis, TempDirectory dir, int batches, (int After, string Path)? copyAfter = null)
    {
        using var journal = new TestJournal(dir.DatabasePath);
        await using var connection = redis.Connection();
        using var projector = redis.Projector(journal.Database, connection);
        journal.Observers.Add(projector);
        await projector.StartAsync(Ct);
        journal.Commit(new CreateTrade("C-0", "A", "XYZ", Side.Buy, 10m, 5m), new CreateTrade("C-1", "A", "XYZ", Side.Sell, 4m, 6m));
        var mix = new CommandMix(seed: 9, idPrefix: "M");
        for (var i = 1; i <= batches; i++)
        {
            journal.Commit(mix.Batch(journal.States, 4));
            if (copyAfter is { } copy && copy.After == i)
            {
                journal.Database.Checkpoint();
                File.Copy(dir.DatabasePath, copy.Path);
            }
        }

        await ProjectorTests.WaitForCheckpointAsync(redis, journal.LastSeq);
        await projector.StopAsync(Ct);
        journal.Database.Checkpoint();
        return journal.LastSeq;
    }
}
