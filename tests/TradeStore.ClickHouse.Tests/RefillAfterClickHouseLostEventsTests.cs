using Microsoft.Extensions.Logging;
using TradeStore.ClickHouse.Sync;
using TradeStore.ClickHouse.Tests.Support;
using TradeStore.Storage.Sync;
using TradeStore.TestSupport;

namespace TradeStore.ClickHouse.Tests;

/// <summary>
/// ClickHouse losing events behind DuckDB's copy of the checkpoint (its tables rolled back and forward, or a new empty
/// server at the same URL) is refilled from the journal, each missing event once (exploratory report 17, defect 4: the
/// sync resumed after the copy, ClickHouse kept none of the history and the status read "0 behind" for good).
/// </summary>
public sealed class RefillAfterClickHouseLostEventsTests
{
    private const int Trades = 120;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task MigrateDownAndUpClickHouse_NextStart_RefillsEveryEventOnceAndVerifyIsClean()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("refill");
        using var data = new TempDirectory("refill");
        var last = await SeedAndSyncAsync(ch, data, Trades, "refill");

        Assert.Equal((last, last, last), await ch.CountEventsAsync());

        // The repro's path: the CLI rolls ClickHouse back to nothing and forward again; DuckDB keeps the journal and its copy of the checkpoint.
        var down = await RunAsync(data, ch, "migrate", "down", "--target", "clickhouse", "--to", "0", "--yes");
        Assert.Equal(0, down.ExitCode);
        Assert.Contains("the next serve (after migrate up --target clickhouse, or by itself with Storage:AutoMigrate) refills ClickHouse from DuckDB's journal", down.Output);
        var up = await RunAsync(data, ch, "migrate", "up", "--target", "clickhouse");
        Assert.Equal(0, up.ExitCode);
        await ch.StopMergesAsync(); // the recreated table merges again: a duplicate sent by the refill must stay visible
        Assert.Equal(0, (await ch.CountEventsAsync()).Rows);

        await using (var second = await SyncHarness.StartAsync(ch.Url, ch.Name, dataDirectory: data.Path))
        {
            await Eventually.TrueAsync(
                () => second.State.Snapshot() is { CheckpointSource: SyncStatus.FromClickHouse, Checkpoint: var c, EventsBehind: 0 } && c == last,
                TimeSpan.FromSeconds(60), () => $"{second.State.Snapshot()}");
            Assert.Equal((last, last, last), await ch.CountEventsAsync());

            var refill = Assert.Single(second.Logger.Collector.GetSnapshot(), r => r.Id.Id == 4011);
            Assert.Equal(LogLevel.Warning, refill.Level);
            Assert.Contains($"ends at seq 0, behind the checkpoint {last}", refill.Message);
            Assert.Contains($"from seq 1: {last} events up to seq {last}", refill.Message);
        }

        // Every event exactly once, and (verify) every trade's latest state; DuckDB's copy of the checkpoint is back at the journal's end.
        Assert.Equal((last, last, last), await ch.CountEventsAsync());
        var verify = await RunAsync(data, ch, "verify", "--clickhouse");
        Assert.Equal(0, verify.ExitCode);
        Assert.Contains("clickhouse: OK, matches the journal", verify.Output);
        var status = await RunAsync(data, ch, "sync", "status");
        Assert.Contains($"checkpoint        {last}", status.Output);
        Assert.Contains($"clickhouse max    {last}", status.Output);
        Assert.Contains("events behind     0", status.Output);
    }

    /// <summary>
    /// A <c>migrate down --target clickhouse</c> that stopped after its first <c>DROP</c> (killed, or ClickHouse timed out)
    /// leaves version 1 recorded with a table gone. verify said "OK", up "nothing to apply", and the sync failed with
    /// missing_table for good, advising the AutoMigrate that was on. Now verify names the table (exit 1) and the next start
    /// creates it again (AutoMigrate) and refills every event once.
    /// </summary>
    [Fact]
    public async Task DownStoppedAfterItsFirstDrop_VerifyNamesTheTableAndTheNextStartRecreatesAndRefills()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("halfdown");
        using var data = new TempDirectory("halfdown");
        var last = await SeedAndSyncAsync(ch, data, 60, "halfdown");

        var down = ClickHouse.Migrations.ClickHouseSchema.Migrations.Migrations[0].DownSql;
        await ch.Client.ExecuteAsync(ClickHouse.Migrations.ClickHouseSchema.SplitStatements(down)[0], Ct, ch.Name);

        var verify = await RunAsync(data, ch, "migrate", "verify", "--target", "clickhouse");
        Assert.Equal(1, verify.ExitCode);
        Assert.Contains("version 1 is recorded but its table trade_events does not exist", verify.Output);
        var status = await RunAsync(data, ch, "migrate", "status", "--target", "clickhouse");
        Assert.Contains("INCOMPLETE:", status.Output);

        await using (var second = await SyncHarness.StartAsync(ch.Url, ch.Name, dataDirectory: data.Path))
        {
            await Eventually.TrueAsync(
                () => second.State.Snapshot() is { CheckpointSource: SyncStatus.FromClickHouse, Checkpoint: var c, EventsBehind: 0 } && c == last,
                TimeSpan.FromSeconds(60), () => $"{second.State.Snapshot()}");
        }

        Assert.Equal((last, last, last), await ch.CountEventsAsync());
        Assert.Equal(0, (await RunAsync(data, ch, "migrate", "verify", "--target", "clickhouse")).ExitCode);
        var compared = await RunAsync(data, ch, "verify", "--clickhouse");
        Assert.Equal(0, compared.ExitCode);
        Assert.Contains("clickhouse: OK, matches the journal", compared.Output);
    }

    /// <summary>
    /// trade_state dropped by hand (or by a down from before trade_events was dropped first) beside a full trade_events:
    /// <c>migrate up</c> says so and reverts the migration before applying it again, so the next start refills both
    /// tables. Creating trade_state alone would leave it without every trade written before, since the sync refills from
    /// trade_events' max(seq).
    /// </summary>
    [Fact]
    public async Task TradeStateDroppedByHand_MigrateUpThenStart_BothTablesRefilledAndVerifyIsClean()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("handdrop");
        using var data = new TempDirectory("handdrop");
        var last = await SeedAndSyncAsync(ch, data, 60, "handdrop");

        await ch.Client.ExecuteAsync("DROP TABLE trade_state", Ct, ch.Name);

        var up = await RunAsync(data, ch, "migrate", "up", "--target", "clickhouse");
        Assert.Equal(0, up.ExitCode);
        Assert.Contains("trade_state missing at the recorded version; running the applied migrations again", up.Output);
        Assert.Contains("applied 0001_initial", up.Output);
        Assert.Equal(0, (await RunAsync(data, ch, "migrate", "verify", "--target", "clickhouse")).ExitCode);

        await using (var second = await SyncHarness.StartAsync(ch.Url, ch.Name, dataDirectory: data.Path))
        {
            await Eventually.TrueAsync(
                () => second.State.Snapshot() is { CheckpointSource: SyncStatus.FromClickHouse, Checkpoint: var c, EventsBehind: 0 } && c == last,
                TimeSpan.FromSeconds(60), () => $"{second.State.Snapshot()}");
        }

        var compared = await RunAsync(data, ch, "verify", "--clickhouse");
        Assert.True(compared.ExitCode == 0, compared.Output);
        Assert.Contains("clickhouse: OK, matches the journal", compared.Output);
    }

    /// <summary>
    /// The database dropped under a running sync (or a new empty server at the same URL): with AutoMigrate the sync
    /// creates the tables again and refills every event once, without a restart. It used to fail with missing_table,
    /// advising to set the AutoMigrate that was already on, until someone ran the migrations by hand.
    /// </summary>
    [Fact]
    public async Task DatabaseDroppedWhileSyncing_AutoMigrate_TablesRecreatedAndEveryEventRefilledOnce()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("dropped");
        await using var sync = await SyncHarness.StartAsync(ch.Url, ch.Name);
        await TradeWorkload.RunAsync(sync.Engine, 40, "before");
        await sync.WaitUntilSyncedAsync();
        // DuckDB's copy of the checkpoint trails ClickHouse's by up to a second: only once it holds the 40 does the sync
        // know that ClickHouse lost events it had (event 4011). Dropped before that, the sync resends all 80 from its
        // copy's 0 without a word, as it should, and the check of 4011 below failed (clean-clone CI, 2026-12-05).
        var before = sync.Engine.LastSeq;
        await Eventually.TrueAsync(() => sync.Scalar("SELECT last_seq FROM sync_checkpoints WHERE sink = 'clickhouse'") == before,
            TimeSpan.FromSeconds(10), () => $"DuckDB's copy of the checkpoint {sync.Scalar("SELECT last_seq FROM sync_checkpoints WHERE sink = 'clickhouse'")}, ClickHouse at {before}");

        await ch.Client.ExecuteAsync($"DROP DATABASE {ch.Name}", Ct);
        await TradeWorkload.RunAsync(sync.Engine, 40, "after");

        var last = sync.Engine.LastSeq;
        await Eventually.TrueAsync(
            async () => await TryCountAsync(ch) is { } counts && counts.Rows == last && counts.MaxSeq == last,
            TimeSpan.FromSeconds(90), () => $"{sync.State.Snapshot()}");
        Assert.Equal((last, last, last), await ch.CountEventsAsync());
        Assert.Contains(sync.Logger.Collector.GetSnapshot(), r => r.Id.Id == 4011); // the refill said what it sent
    }

    /// <summary>
    /// The database dropped (a new empty server at the same URL) while the journal is quiet: the sync only read
    /// ClickHouse's max(seq) after a failure or at start, so with no write to fail, readiness read "0 behind" over an
    /// empty ClickHouse for as long as nothing was written. It now asks every 5 s and refills without a write. Before
    /// the drop, DuckDB's copy of the checkpoint has reached the journal's end: it took at most one position a second,
    /// and the last ones of a burst waited for the next batch, for good while the journal stayed quiet.
    /// </summary>
    [Fact]
    public async Task DatabaseDroppedWhileTheJournalIsQuiet_RefilledWithoutAWrite()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("quiet");
        await using var sync = await SyncHarness.StartAsync(ch.Url, ch.Name);
        await TradeWorkload.RunAsync(sync.Engine, 600, "quiet");
        await sync.WaitUntilSyncedAsync();
        var last = sync.Engine.LastSeq;
        await Eventually.TrueAsync(() => sync.Scalar("SELECT last_seq FROM sync_checkpoints WHERE sink = 'clickhouse'") == last,
            TimeSpan.FromSeconds(10), () => $"DuckDB's copy of the checkpoint {sync.Scalar("SELECT last_seq FROM sync_checkpoints WHERE sink = 'clickhouse'")}, ClickHouse at {last}");

        await ch.Client.ExecuteAsync($"DROP DATABASE {ch.Name}", Ct);

        await Eventually.TrueAsync(
            async () => await TryCountAsync(ch) is { } counts && counts.Rows == last && counts.MaxSeq == last,
            TimeSpan.FromSeconds(60), () => $"{sync.State.Snapshot()}");
        Assert.Equal((last, last, last), await ch.CountEventsAsync());
        Assert.Equal(last, sync.Engine.LastSeq); // nothing was written meanwhile
        Assert.Contains(sync.Logger.Collector.GetSnapshot(), r => r.Id.Id == 4011);
    }

    /// <summary>
    /// Both tables truncated by hand while the journal is quiet: no INSERT fails, so the sync never read ClickHouse's
    /// max(seq) again and the status read "0 behind" over empty tables until the next write. The check every 5 s finds
    /// max(seq) behind the position (event 4016) and refills both tables once.
    /// </summary>
    [Fact]
    public async Task TablesTruncatedWhileTheJournalIsQuiet_RefilledOnceAndVerifyIsClean()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("truncated");
        await using var sync = await SyncHarness.StartAsync(ch.Url, ch.Name);
        await TradeWorkload.RunAsync(sync.Engine, 200, "truncated");
        await sync.WaitUntilSyncedAsync();
        var last = sync.Engine.LastSeq;

        await ch.Client.ExecuteAsync("TRUNCATE TABLE trade_events", Ct, ch.Name);
        await ch.Client.ExecuteAsync("TRUNCATE TABLE trade_state", Ct, ch.Name);

        await Eventually.TrueAsync(
            async () => await ch.CountEventsAsync() is var counts && counts.Rows == last && counts.MaxSeq == last,
            TimeSpan.FromSeconds(60), () => $"{sync.State.Snapshot()}");
        Assert.Equal((last, last, last), await ch.CountEventsAsync());
        var changed = Assert.Single(sync.Logger.Messages(4016));
        Assert.Contains($"now ends at seq 0, not at the sync's position {last}", changed);
        var report = await new ClickHouse.Verification.ClickHouseVerifier(ch.Client, sync.Database).VerifyAsync(Ct);
        Assert.True(report.Clean, string.Join('\n', report.Differences));
    }

    /// <summary>The events' counts, or none while the tables do not exist (yet).</summary>
    private static async Task<(long Rows, long Distinct, long MaxSeq)?> TryCountAsync(ClickHouseTestDatabase ch)
    {
        try
        {
            return await ch.CountEventsAsync();
        }
        catch (ClickHouseException)
        {
            return null;
        }
    }

    [Fact]
    public async Task ClickHouseHoldsOnlyAnOlderPart_NextStart_SendsTheRestOnceAndMovesTheCheckpointCopyBack()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("refillold");
        using var data = new TempDirectory("refillold");
        var last = await SeedAndSyncAsync(ch, data, 40, "old");

        // A ClickHouse holding only the older half (an older backup restored, or a tail lost): the refill starts after what it holds.
        var keep = last / 2;
        await using var older = await ClickHouseTestDatabase.CreateAsync("refillolder");
        await older.Client.ExecuteAsync($"INSERT INTO trade_events SELECT * FROM {ch.Name}.trade_events WHERE seq <= {keep}", Ct, older.Name);
        Assert.Equal((keep, keep, keep), await older.CountEventsAsync());

        await using (var second = await SyncHarness.StartAsync(older.Url, older.Name, dataDirectory: data.Path))
        {
            await Eventually.TrueAsync(
                () => second.State.Snapshot() is { CheckpointSource: SyncStatus.FromClickHouse, Checkpoint: var c, EventsBehind: 0 } && c == last,
                TimeSpan.FromSeconds(60), () => $"{second.State.Snapshot()}");
            var refill = Assert.Single(second.Logger.Collector.GetSnapshot(), r => r.Id.Id == 4011);
            Assert.Contains($"ends at seq {keep}, behind the checkpoint {last}", refill.Message);
            Assert.Contains($"from seq {keep + 1}: {last - keep} events up to seq {last}", refill.Message);
            Assert.Contains($"moves back to {keep}", refill.Message);
        }

        Assert.Equal((last, last, last), await older.CountEventsAsync());
        using var db = Storage.DuckDbDatabase.Open(Path.Combine(data.Path, Core.Options.StorageOptions.DatabaseFileName));
        Assert.Equal(last, new SyncCheckpoints(db).Get(SyncCheckpoints.ClickHouse));
    }

    /// <summary>Writes <paramref name="trades"/> trades' lifecycles into <paramref name="data"/>, waits until ClickHouse has them all, stops; the last seq.</summary>
    private static async Task<long> SeedAndSyncAsync(ClickHouseTestDatabase ch, TempDirectory data, int trades, string prefix)
    {
        await using var first = await SyncHarness.StartAsync(ch.Url, ch.Name, dataDirectory: data.Path);
        await TradeWorkload.RunAsync(first.Engine, trades, prefix);
        await first.WaitUntilSyncedAsync();
        return first.Engine.LastSeq;
    }

    private static Task<(int ExitCode, string Output)> RunAsync(TempDirectory data, ClickHouseTestDatabase ch, params string[] arguments) =>
        TradeStoreProcess.RunAsync([.. arguments, "--data", data.Path], data.Path, new Dictionary<string, string>
        {
            ["TRADESTORE__CLICKHOUSE__URL"] = ch.Url,
            ["TRADESTORE__CLICKHOUSE__DATABASE"] = ch.Name,
        });
}
