using System.Globalization;
using TradeStore.ClickHouse.Tests.Support;
using TradeStore.Core.Trades;
using TradeStore.Storage;
using TradeStore.Storage.Engine;
using TradeStore.TestSupport;

namespace TradeStore.ClickHouse.Tests;

/// <summary>The operator commands, run as the real <c>tradestore</c> executable against a real ClickHouse.</summary>
public sealed class CommandTests
{
    private const int ClickHouseVerifierListed = Verification.ClickHouseVerifier.MaxListed;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SyncStatusAndVerify_AfterSync_CaughtUpAndCleanThenTamperedFound()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("cmd");
        using var data = new TempDirectory("cmd");
        long last;
        await using (var harness = await SyncHarness.StartAsync(ch.Url, ch.Name, dataDirectory: data.Path))
        {
            await TradeWorkload.RunAsync(harness.Engine, 200, "cmd");
            await harness.WaitUntilSyncedAsync();
            last = harness.Engine.LastSeq;
        }

        var status = await RunAsync(data, ch, "sync", "status");
        Assert.Equal(0, status.ExitCode);
        Assert.Contains($"checkpoint        {last}", status.Output);
        Assert.Contains($"clickhouse max    {last}", status.Output);
        Assert.Contains("events behind     0", status.Output);
        Assert.Contains("lag               0.000 s", status.Output);
        Assert.Contains($"trade_state       {last} (0 events behind the journal", status.Output);
        Assert.Contains("daemon            stopped", status.Output);

        var clean = await RunAsync(data, ch, "verify", "--clickhouse");
        Assert.Equal(0, clean.ExitCode);
        Assert.Contains("clickhouse: OK, matches the journal", clean.Output);

        // A newer version of one trade that the journal never had, as a stray writer would leave.
        await ch.Client.ExecuteAsync(
            "INSERT INTO trade_state (trade_id, version, last_seq, account, symbol, side, quantity, price, filled_quantity, filled_notional, status, " +
            "executed_at_us, created_at_us, updated_at_us) VALUES ('cmd-000007', 99, 999999, 'acc-1', 'AAPL', 'buy', 1, 1, 0, 0, 'new', 0, 0, 0)", Ct, ch.Name);
        var tampered = await RunAsync(data, ch, "verify", "--clickhouse");
        Assert.Equal(1, tampered.ExitCode);
        Assert.Contains("DIFFERENCE trade cmd-000007", tampered.Output);
        Assert.Contains("version 99 (seq 999999) in ClickHouse trade_state", tampered.Output);
    }

    /// <summary>
    /// More differing trades than verify names: the summary counts every one of them. Regression: it counted the lines
    /// printed, so a ClickHouse 36,506 events behind read "25 difference(s)" just under "… and 36486 more trades or
    /// events differ".
    /// </summary>
    [Fact]
    public async Task Verify_MoreDifferencesThanListed_SummaryCountsEveryOne()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("cmdmany");
        using var data = new TempDirectory("cmdmany");
        await using (var harness = await SyncHarness.StartAsync(ch.Url, ch.Name, dataDirectory: data.Path))
        {
            await TradeWorkload.RunAsync(harness.Engine, 50, "many");
            await harness.WaitUntilSyncedAsync();
        }

        // Trades only ClickHouse holds, as a stray writer would leave: each one a difference of its own.
        const int Ghosts = ClickHouseVerifierListed + 10;
        var rows = Enumerable.Range(1, Ghosts).Select(i =>
            $"('GHOST-{i:D3}', 1, {900000 + i}, 'acc-1', 'AAPL', 'buy', 1, 1, 0, 0, 'new', 0, 0, 0)");
        await ch.Client.ExecuteAsync(
            "INSERT INTO trade_state (trade_id, version, last_seq, account, symbol, side, quantity, price, filled_quantity, filled_notional, status, " +
            "executed_at_us, created_at_us, updated_at_us) VALUES " + string.Join(", ", rows), Ct, ch.Name);

        var verify = await RunAsync(data, ch, "verify", "--clickhouse");

        Assert.Equal(1, verify.ExitCode);
        Assert.Equal(ClickHouseVerifierListed, verify.Output.Split('\n').Count(l => l.StartsWith("clickhouse: DIFFERENCE trade GHOST-", StringComparison.Ordinal)));
        Assert.Contains("clickhouse: DIFFERENCE … and 10 more trades or events differ\n", verify.Output);
        Assert.Contains($"clickhouse: {Ghosts} difference(s)\n", verify.Output);
    }

    [Fact]
    public async Task SyncStatus_WhileServerHoldsDatabase_ReadsTheDaemonStatusFile()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("cmdlive");
        using var data = new TempDirectory("cmdlive");
        await using var harness = await SyncHarness.StartAsync(ch.Url, ch.Name, dataDirectory: data.Path);
        await TradeWorkload.RunAsync(harness.Engine, 50, "live");
        await harness.WaitUntilSyncedAsync();
        await Eventually.TrueAsync(() => Sync.SyncStatusFile.Read(Sync.SyncStatusFile.PathFor(harness.Database.Path))?.Checkpoint == harness.Engine.LastSeq,
            TimeSpan.FromSeconds(30), () => "status file not written");

        var status = await RunAsync(data, ch, "sync", "status");

        Assert.Equal(0, status.ExitCode);
        Assert.Contains($"in use by PID {Environment.ProcessId}", status.Output);
        Assert.Contains($"checkpoint        {harness.Engine.LastSeq} (from the daemon's status", status.Output);
        Assert.Contains("events behind     0", status.Output);
        Assert.Contains("daemon            running", status.Output);
    }

    /// <summary>
    /// A data directory that does not exist (a typo in --data) printed "(no database file)" and, with ClickHouse up,
    /// exited 0; verify exits 2 for it. Now sync status refuses it the same way and names it.
    /// </summary>
    [Fact]
    public async Task SyncStatus_DataDirectoryThatDoesNotExist_Exit2NamingIt()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("cmdnodir");
        using var parent = new TempDirectory("cmdnodir");
        var missing = Path.Combine(parent.Path, "typo");

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["sync", "status", "--data", missing], parent.Path, new Dictionary<string, string>
        {
            ["TRADESTORE__CLICKHOUSE__URL"] = ch.Url,
            ["TRADESTORE__CLICKHOUSE__DATABASE"] = ch.Name,
        });

        Assert.True(exitCode == 2, $"exit code {exitCode}:\n{output}");
        Assert.Contains($"there is no directory {missing} (check --data)", output);
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public async Task SyncStatus_BadCredentials_ShowsErrorAndWhenExit1()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("cmdauth");
        using var data = new TempDirectory("cmdauth");
        await using (var harness = await SyncHarness.StartAsync(ch.Url, ch.Name, o => o.Password = "wrong", dataDirectory: data.Path))
        {
            await TradeWorkload.SubmitAsync(harness.Engine, [new CreateTrade("a-1", "acc", "SYM", Side.Buy, 1m, 1m)]);
            await Eventually.TrueAsync(() => harness.State.Snapshot().ConsecutiveFailures >= 2, TimeSpan.FromSeconds(20), () => $"{harness.State.Snapshot()}");
            await Eventually.TrueAsync(() => Sync.SyncStatusFile.Read(Sync.SyncStatusFile.PathFor(harness.Database.Path)) is { Failing: true, Running: true },
                TimeSpan.FromSeconds(30), () => "status file not written");
            var running = await RunAsync(data, ch, "sync", "status");
            // A time, not a delay read from a file that may be seconds old.
            Assert.Matches(@"FAILING since \S+: \d+ attempts, next retry at \S+ \((in \d+\.\d s|due \d+\.\d s ago; the daemon has not written its status since)\)", running.Output);
        }

        var status = await RunAsync(data, ch, "sync", "status");

        Assert.Equal(1, status.ExitCode);
        Assert.Contains("events behind     1", status.Output);
        Assert.Contains("[authentication]", status.Output);
        Assert.Contains("ClickHouse:User and ClickHouse:Password", status.Output);
        Assert.Contains("FAILING since", status.Output);
        // The daemon stopped with the harness: no retry comes (it printed "next retry after 0.3 s" from the old file).
        Assert.Contains("no further retry: the daemon stopped", status.Output);
    }

    [Fact]
    public async Task Recover_FromClickHouse_RebuildsEqualDatabaseAndRefusesNonEmpty()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("recover");
        using var original = new TempDirectory("original");
        using var restored = new TempDirectory("restored");
        await using (var harness = await SyncHarness.StartAsync(ch.Url, ch.Name, dataDirectory: original.Path))
        {
            await TradeWorkload.RunAsync(harness.Engine, 400, "rec");
            await harness.WaitUntilSyncedAsync();
        }

        var recover = await RunAsync(restored, ch, "recover", "--from", "clickhouse");

        Assert.True(recover.ExitCode == 0, recover.Output);
        Assert.Contains("clickhouse: OK, matches the journal", recover.Output);
        // The check names the database where it now is, not the staging name it was built under.
        Assert.Contains($"journal (DuckDB {restored.DatabasePath}): ", recover.Output);
        Assert.DoesNotContain(".recovering", recover.Output);
        using (var a = DuckDbDatabase.Open(original.DatabasePath))
        using (var b = DuckDbDatabase.Open(restored.DatabasePath))
        {
            Assert.Equal(Rows(a, "SELECT * FROM trade_events ORDER BY seq"), Rows(b, "SELECT * FROM trade_events ORDER BY seq"));
            Assert.Equal(Rows(a, "SELECT * FROM trade_state ORDER BY trade_id"), Rows(b, "SELECT * FROM trade_state ORDER BY trade_id"));
            Assert.Equal(Rows(a, "SELECT sink, last_seq FROM sync_checkpoints WHERE sink = 'clickhouse'"), Rows(b, "SELECT sink, last_seq FROM sync_checkpoints WHERE sink <> 'trade_state'"));
            Assert.Equal(Rows(a, "SELECT sink, last_seq FROM sync_checkpoints WHERE sink = 'trade_state'"), Rows(b, "SELECT sink, last_seq FROM sync_checkpoints WHERE sink = 'trade_state'"));
            var positionsA = await PositionsAsync(a);
            Assert.NotEmpty(positionsA);
            Assert.Equal(positionsA, await PositionsAsync(b));
        }

        var again = await RunAsync(restored, ch, "recover", "--from", "clickhouse");
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("is not empty", again.Output);
    }

    /// <summary>
    /// A lost disk's data directory does not exist yet: recover creates it (owner-only, as serve does) and restores into
    /// it. Regression: <c>recover --from clickhouse --data NEW</c> ended with an unhandled DirectoryNotFoundException
    /// and a stack trace (exit 134) while removing a leftover staging database from the missing directory; with
    /// <c>--set-aside</c> likewise while looking there for an earlier --set-aside's folder.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Recover_FromClickHouseIntoMissingDataDirectory_CreatesItAndRestores(bool setAside)
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("recmiss");
        using var original = new TempDirectory("original");
        using var work = new TempDirectory("missing");
        await using (var harness = await SyncHarness.StartAsync(ch.Url, ch.Name, dataDirectory: original.Path))
        {
            await TradeWorkload.RunAsync(harness.Engine, 20, "miss");
            await harness.WaitUntilSyncedAsync();
        }

        var data = Path.Combine(work.Path, "new-disk", "data");
        string[] arguments = setAside ? ["recover", "--from", "clickhouse", "--set-aside", "--data", data] : ["recover", "--from", "clickhouse", "--data", data];
        var recover = await TradeStoreProcess.RunAsync(arguments, work.Path, new Dictionary<string, string>
        {
            ["TRADESTORE__CLICKHOUSE__URL"] = ch.Url,
            ["TRADESTORE__CLICKHOUSE__DATABASE"] = ch.Name,
        });

        Assert.True(recover.ExitCode == 0, recover.Output);
        Assert.Contains("clickhouse: OK, matches the journal", recover.Output);
        Assert.DoesNotContain("Unhandled exception", recover.Output);
        Assert.True(File.Exists(Path.Combine(data, "tradestore.duckdb")), recover.Output);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(data));
        using var a = DuckDbDatabase.Open(original.DatabasePath);
        using var b = DuckDbDatabase.Open(Path.Combine(data, "tradestore.duckdb"));
        Assert.Equal(Rows(a, "SELECT * FROM trade_events ORDER BY seq"), Rows(b, "SELECT * FROM trade_events ORDER BY seq"));
    }

    /// <summary>
    /// <c>--set-aside</c> asks ClickHouse how much history it holds before it moves anything (a <c>FINAL</c> count of every
    /// event, seconds on millions); the recovery then asked the same again. Counted through a proxy: once now.
    /// </summary>
    [Fact]
    public async Task RecoverSetAside_FromClickHouse_CountsTheHistoryOnce()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("setasidecount");
        using var data = new TempDirectory("setasidecount");
        await using (var harness = await SyncHarness.StartAsync(ch.Url, ch.Name, dataDirectory: data.Path))
        {
            await TradeWorkload.RunAsync(harness.Engine, 20, "once");
            await harness.WaitUntilSyncedAsync();
        }

        await using var proxy = new ResponseDroppingProxy(new Uri(ch.Url), "count() AS events, min(seq) AS min_seq", DropMode.Close, drops: 0);
        var recover = await TradeStoreProcess.RunAsync(["recover", "--from", "clickhouse", "--set-aside", "--data", data.Path], data.Path, new Dictionary<string, string>
        {
            ["TRADESTORE__CLICKHOUSE__URL"] = proxy.Url,
            ["TRADESTORE__CLICKHOUSE__DATABASE"] = ch.Name,
        });

        Assert.True(recover.ExitCode == 0, recover.Output);
        Assert.Contains("--set-aside: moved ", recover.Output);
        Assert.Contains("clickhouse: OK, matches the journal", recover.Output);
        Assert.Equal(1, proxy.Marked);
    }

    /// <summary>
    /// The sync writes a batch's states before its events, so a kill between the two leaves <c>trade_state</c> rows past
    /// <c>trade_events</c>' max(seq). Regression: a recovery from that ClickHouse restored the journal but exited 1 with
    /// "trade …: in ClickHouse, not in the journal" and no word of why, and <c>--set-aside</c>'s warnings never printed.
    /// </summary>
    [Fact]
    public async Task Recover_StatesOfABatchCutShort_RestoresSaysWhyAndVerifyStillCountsThem()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("cutshort");
        using var original = new TempDirectory("cutsrc");
        using var restored = new TempDirectory("cutdst");
        long last;
        await using (var harness = await SyncHarness.StartAsync(ch.Url, ch.Name, dataDirectory: original.Path))
        {
            await TradeWorkload.RunAsync(harness.Engine, 40, "cut");
            await harness.WaitUntilSyncedAsync();
            last = harness.Engine.LastSeq;
        }

        // The states of the batch after the last one ClickHouse completed: a newer version of a known trade, and a new trade.
        await ch.Client.ExecuteAsync(
            "INSERT INTO trade_state (trade_id, version, last_seq, account, symbol, side, quantity, price, filled_quantity, filled_notional, status, " +
            $"executed_at_us, created_at_us, updated_at_us) VALUES ('cut-000003', 9, {last + 1}, 'acc-1', 'AAPL', 'buy', 1, 1, 0, 0, 'new', 0, 0, 0), " +
            $"('CUT-NEW', 1, {last + 2}, 'acc-1', 'AAPL', 'buy', 1, 1, 0, 0, 'new', 0, 0, 0)", Ct, ch.Name);

        var recover = await RunAsync(restored, ch, "recover", "--from", "clickhouse");

        Assert.True(recover.ExitCode == 0, recover.Output);
        Assert.Contains($"ClickHouse trade_state holds 2 trades at seq {last + 1}..{last + 2}, past both trade_events' max(seq) {last} and the journal's last seq {last}", recover.Output);
        Assert.Contains($"clickhouse: trade cut-000003: version 9 (seq {last + 1}) in ClickHouse trade_state, past its events; version ", recover.Output);
        Assert.Contains($"clickhouse: trade CUT-NEW: version 1 (seq {last + 2}) in ClickHouse trade_state, past its events; not in the journal", recover.Output);
        Assert.Contains("clickhouse: OK, matches the journal", recover.Output);
        Assert.DoesNotContain("DIFFERENCE", recover.Output);

        // verify still counts them: ClickHouse's trade_state disagrees with the journal until ClickHouse is rebuilt.
        var verify = await RunAsync(restored, ch, "verify", "--clickhouse");
        Assert.Equal(1, verify.ExitCode);
        Assert.Contains("clickhouse: DIFFERENCE trade CUT-NEW: ", verify.Output);
        Assert.Contains("clickhouse: 2 difference(s)", verify.Output);
    }

    [Fact]
    public async Task Recover_ClickHouseHistoryHasGap_RefusedNothingWritten()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("gap");
        using var original = new TempDirectory("gapsrc");
        using var restored = new TempDirectory("gapdst");
        await using (var harness = await SyncHarness.StartAsync(ch.Url, ch.Name, dataDirectory: original.Path))
        {
            await TradeWorkload.RunAsync(harness.Engine, 30, "gap");
            await harness.WaitUntilSyncedAsync();
        }

        await ch.Client.ExecuteAsync("CREATE TABLE trade_events_gap AS trade_events", Ct, ch.Name);
        await ch.Client.ExecuteAsync("INSERT INTO trade_events_gap SELECT * FROM trade_events WHERE seq != 5", Ct, ch.Name);
        await ch.Client.ExecuteAsync("DROP TABLE trade_events", Ct, ch.Name);
        await ch.Client.ExecuteAsync("RENAME TABLE trade_events_gap TO trade_events", Ct, ch.Name);

        var recover = await RunAsync(restored, ch, "recover", "--from", "clickhouse");

        Assert.Equal(1, recover.ExitCode);
        Assert.Contains("1 are missing", recover.Output);
        // Not even an empty database (a serve would start on it with an empty book): the directory is as it was.
        Assert.Empty(Directory.GetFileSystemEntries(restored.Path));
    }

    private static Task<(int ExitCode, string Output)> RunAsync(TempDirectory data, ClickHouseTestDatabase ch, params string[] arguments) =>
        TradeStoreProcess.RunAsync([.. arguments, "--data", data.Path], data.Path, new Dictionary<string, string>
        {
            ["TRADESTORE__CLICKHOUSE__URL"] = ch.Url,
            ["TRADESTORE__CLICKHOUSE__DATABASE"] = ch.Name,
        });

    private static List<string> Rows(DuckDbDatabase database, string sql)
    {
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(string.Join('|', Enumerable.Range(0, reader.FieldCount).Select(i =>
                reader.IsDBNull(i) ? "null" : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture))));
        }

        return rows;
    }

    /// <summary>Positions as the engine derives them when it starts on <paramref name="database"/>.</summary>
    private static async Task<IReadOnlyList<Position>> PositionsAsync(DuckDbDatabase database)
    {
        var index = new StateIndex();
        using var meters = new TestMeters();
        await using var engine = new WriteEngine(database, index, new TradeStore.Core.Options.EngineOptions(), meters.Factory);
        engine.Start();
        return new TradeQueries(database, index).GetPositionsAtOneSeq(null, out _);
    }
}
