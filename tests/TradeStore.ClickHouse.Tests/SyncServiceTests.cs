using System.Globalization;
using System.Text.RegularExpressions;
using TradeStore.ClickHouse.Migrations;
using TradeStore.ClickHouse.Sync;
using TradeStore.ClickHouse.Tests.Support;
using TradeStore.ClickHouse.Verification;
using TradeStore.Core.Trades;
using TradeStore.TestSupport;

namespace TradeStore.ClickHouse.Tests;

public sealed partial class SyncServiceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sync_AfterBurst_EveryEventOnceAndVerifyClean()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("burst");
        await using var harness = await SyncHarness.StartAsync(ch.Url, ch.Name);

        var written = await TradeWorkload.RunAsync(harness.Engine, 1_500, "burst");
        await harness.WaitUntilSyncedAsync();

        var (rows, distinct, maxSeq) = await ch.CountEventsAsync();
        Assert.Equal(written, harness.Engine.LastSeq);
        Assert.Equal(harness.Engine.LastSeq, distinct);
        Assert.Equal(distinct, rows);
        Assert.Equal(harness.Engine.LastSeq, maxSeq);
        var report = await new ClickHouseVerifier(ch.Client, harness.Database).VerifyAsync(Ct);
        Assert.True(report.Clean, string.Join('\n', report.Differences));
        var batchSizes = harness.Logger.Messages(4005).Select(t => int.Parse(BatchCount().Match(t).Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.True(batchSizes.Count > 1, "a burst is sent in several batches");
        Assert.True(batchSizes.Max() > harness.Options.Sync.BatchMin, $"batches grow while behind: {string.Join(',', batchSizes)}");
        var status = harness.State.Snapshot();
        Assert.Equal(0, status.EventsBehind);
        Assert.Equal(0, status.LagSeconds);
    }

    [Theory]
    [InlineData(DropMode.Close)]
    [InlineData(DropMode.Hang)]
    public async Task Sync_InsertAppliedButAnswerLost_ResumesFromClickHouseWithoutDuplicate(DropMode mode)
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("lost");
        await using var proxy = new ResponseDroppingProxy(new Uri(ch.Url), "INSERT%20INTO%20trade_events", mode);
        await using var harness = await SyncHarness.StartAsync(proxy.Url, ch.Name, o => o.Timeout = TimeSpan.FromSeconds(1));

        await TradeWorkload.RunAsync(harness.Engine, 300, "lost");
        await harness.WaitUntilSyncedAsync();

        Assert.Equal(1, proxy.Dropped);
        var (rows, distinct, maxSeq) = await ch.CountEventsAsync();
        Assert.Equal(harness.Engine.LastSeq, maxSeq);
        Assert.Equal(harness.Engine.LastSeq, distinct);
        Assert.Equal(distinct, rows);
        var status = harness.State.Snapshot();
        Assert.Contains(status.LastErrorKind, new[] { "connection_lost", "timeout" });
        Assert.False(status.Failing);
        // The applied-but-unanswered batch was found in ClickHouse (max(seq) past the checkpoint), not sent again.
        Assert.NotEmpty(harness.Logger.Messages(4010));
    }

    /// <summary>
    /// The stop lands while an INSERT is in flight: ClickHouse applies it but the answer never comes, so the final
    /// flush must learn the position from ClickHouse instead of sending the batch again (one CI run saw every event
    /// twice in <c>trade_events</c> after a stop during the first batch).
    /// </summary>
    [Fact]
    public async Task Stop_DuringAnInsertClickHouseApplies_FinalFlushSendsNothingTwice()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("stopmid");
        await using var proxy = new ResponseDroppingProxy(new Uri(ch.Url), "INSERT%20INTO%20trade_events", DropMode.Hang);
        await using var harness = await SyncHarness.StartAsync(proxy.Url, ch.Name, o => o.Timeout = TimeSpan.FromSeconds(60));

        await TradeWorkload.RunAsync(harness.Engine, 200, "stopmid");
        await Eventually.TrueAsync(() => proxy.Dropped == 1, TimeSpan.FromSeconds(20), () => "the first events INSERT was not applied");
        await harness.StopSyncAsync();

        var (rows, distinct, maxSeq) = await ch.CountEventsAsync();
        Assert.Equal(distinct, rows);
        Assert.Equal(maxSeq, distinct);
        Assert.True(maxSeq > 0);
        Assert.Equal(maxSeq, harness.Scalar("SELECT last_seq FROM sync_checkpoints WHERE sink = 'clickhouse'"));
    }

    [Fact]
    public async Task Sync_BadCredentials_ClearErrorBackoffAndWritesGoOn()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("auth");
        await using var harness = await SyncHarness.StartAsync(ch.Url, ch.Name, o =>
        {
            o.User = "nobody";
            o.Password = "wrong";
        });

        await TradeWorkload.RunAsync(harness.Engine, 20, "auth");
        await Eventually.TrueAsync(() => harness.State.Snapshot().ConsecutiveFailures >= 5, TimeSpan.FromSeconds(20), () => $"{harness.State.Snapshot()}");

        var status = harness.State.Snapshot();
        Assert.Equal("authentication", status.LastErrorKind);
        Assert.Contains("Unknown user nobody", status.LastError);
        Assert.Contains("ClickHouse:User", status.LastError);
        Assert.Equal(harness.Engine.LastSeq, status.EventsBehind);
        var logged = harness.Logger.Messages(4002).ToList();
        Assert.Contains(logged, t => t.Contains("Unknown user nobody", StringComparison.Ordinal));
        var delays = logged.Select(t => double.Parse(RetryDelay().Match(t).Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.True(delays.Max() > 2 * harness.Options.Sync.BackoffMin.TotalMilliseconds, $"backoff grows: {string.Join(", ", delays)} ms");
        Assert.All(delays, d => Assert.True(d <= harness.Options.Sync.BackoffMax.TotalMilliseconds, $"capped: {d} ms"));
        var file = SyncStatusFile.Read(SyncStatusFile.PathFor(harness.Database.Path));
        Assert.NotNull(file);
        Assert.True(file.Failing);
        Assert.Contains("Unknown user nobody", file.LastError);
        Assert.False(harness.Service.ExecuteTask!.IsCompleted, "the daemon keeps trying");
    }

    [Fact]
    public async Task Sync_TablesMissing_ReportedThenCatchesUpOnceCreated()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("missing", migrate: false);
        await ch.Client.ExecuteAsync($"CREATE DATABASE {ch.Name}", Ct);
        await using var harness = await SyncHarness.StartAsync(ch.Url, ch.Name, autoMigrate: false);

        await TradeWorkload.RunAsync(harness.Engine, 100, "missing");
        await Eventually.TrueAsync(() => harness.State.Snapshot() is { ConsecutiveFailures: >= 2, LastErrorKind: "missing_table" }, TimeSpan.FromSeconds(20),
            () => $"{harness.State.Snapshot()}");
        Assert.Contains("trade_events", harness.State.Snapshot().LastError);
        Assert.Contains("migrations", harness.State.Snapshot().LastError);

        await ClickHouseSchema.MigrateToLatestAsync(ch.Client, ch.Name, Ct);
        await ch.StopMergesAsync();
        await harness.WaitUntilSyncedAsync();

        var (rows, distinct, _) = await ch.CountEventsAsync();
        Assert.Equal(harness.Engine.LastSeq, distinct);
        Assert.Equal(distinct, rows);
        Assert.False(harness.State.Snapshot().Failing);
        // How long the sync failed, not only how often (until 2026-12-05 the line gave the attempts alone), written as the
        // other log lines write durations (Durations.Format; until 2026-12-05 .NET's 00:00:01.2340000).
        Assert.Matches(@"reaches ClickHouse again after \d+ failed attempt\(s\) over \d+(\.\d+)?(ms|s|m); resumed at seq \d+$", Assert.Single(harness.Logger.Messages(4003)));
    }

    [Fact]
    public async Task Sync_ClickHouseHoldsAnotherJournal_PausesWithConflictInsteadOfSkipping()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("conflict");
        long firstJournal;
        await using (var first = await SyncHarness.StartAsync(ch.Url, ch.Name))
        {
            await TradeWorkload.RunAsync(first.Engine, 50, "first");
            await first.WaitUntilSyncedAsync();
            firstJournal = first.Engine.LastSeq;
        }

        await using var second = await SyncHarness.StartAsync(ch.Url, ch.Name);
        await TradeWorkload.SubmitAsync(second.Engine, [new CreateTrade("other-1", "acc", "SYM", Side.Buy, 1m, 1m)]);

        await Eventually.TrueAsync(() => second.State.Snapshot().LastErrorKind == "conflict", TimeSpan.FromSeconds(20), () => $"{second.State.Snapshot()}");
        Assert.Contains($"holds events up to seq {firstJournal}, but this journal ends at seq", second.State.Snapshot().LastError, StringComparison.Ordinal);
        var (rows, _, maxSeq) = await ch.CountEventsAsync();
        Assert.Equal((firstJournal, firstJournal), (rows, maxSeq));
        Assert.Equal(0, second.State.Snapshot().Checkpoint);
    }

    [GeneratedRegex(@"\((\d+) events")]
    private static partial Regex BatchCount();

    [GeneratedRegex(@"retrying in (\d+) ms")]
    private static partial Regex RetryDelay();
}
