using System.Net;
using System.Security.Cryptography;
using TradeStore.Storage;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Journal;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// <c>tradestore migrate</c> and the journal log, through the real executable (exploratory test ex17-up, defects 2, 6
/// and 7): the read-only subcommands change nothing after a crash, a rollback below the log's schema version never
/// drops acknowledged events that only the log holds, and a rollback to 0 does not leave the log to bring them back.
/// </summary>
public sealed class MigrateJournalLogTests : IDisposable
{
    private const int SigKill = 9;
    private const int SigTerm = 15;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _work = new("migrate-log");
    private readonly string _url = $"http://127.0.0.1:{FreePort.Next()}";

    public void Dispose() => _work.Dispose();

    private string JournalDirectory => Path.Combine(_work.Path, JournalLog.DirectoryName);

    private string Wal => _work.DatabasePath + ".wal";

    private HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

    private Task<(int ExitCode, string Output)> RunAsync(params string[] arguments) =>
        TradeStoreProcess.RunAsync([.. arguments, "--data", _work.Path], _work.Path);

    /// <summary>Defect 6: "Changes nothing" held only without a crash; the WAL was folded into the file and wal-backups/ created.</summary>
    [Fact]
    public async Task ReadOnlySubcommands_AfterKill9_ChangeNoFileCreateNothingAndServeStillReportsTheUncleanStop()
    {
        await WriteAndStopAsync(["K-1", "K-2", "K-3"], SigKill);
        Assert.True(File.Exists(Wal) && new FileInfo(Wal).Length > 0, "a kill -9 leaves DuckDB's WAL");
        var before = Snapshot();

        foreach (var command in new[] { new[] { "migrate", "status" }, ["migrate", "verify"], ["migrate", "up", "--dry-run"], ["migrate", "down", "--to", "0", "--dry-run"] })
        {
            var (exitCode, output) = await RunAsync(command);
            Assert.True(exitCode == 0, $"{string.Join(' ', command)}: exit {exitCode}\n{output}");
            Assert.Equal(before, Snapshot());
        }

        Assert.False(Directory.Exists(Path.Combine(_work.Path, DatabaseFiles.WalBackupFolder)));
        await using var serve = await StartAsync();
        await serve.WaitForOutputAsync("The last shutdown was not clean", Patience);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/v1/trades/K-3", TestContext.Current.CancellationToken)).StatusCode);
    }

    /// <summary>
    /// Upgrade with <c>Storage:AutoMigrate=false</c> after a kill -9: <c>migrate up</c> opens DuckDB read-write, which folds
    /// the crash's WAL into the file and copies it to wal-backups/, so the next serve no longer logs the unclean stop (1002).
    /// It said nothing of either; it now says the last stop was not clean and where the copy is.
    /// </summary>
    [Fact]
    public async Task MigrateUp_AfterKill9_SaysTheLastStopWasNotCleanAndWhereTheWalCopyIs()
    {
        await WriteAndStopAsync(["M-1", "M-2"], SigKill);
        Assert.True(File.Exists(Wal) && new FileInfo(Wal).Length > 0, "a kill -9 leaves DuckDB's WAL");

        var (exitCode, output) = await RunAsync("migrate", "up", "--target", "duckdb");

        Assert.True(exitCode == 0, $"exit {exitCode}\n{output}");
        var copy = Assert.Single(Directory.GetFiles(Path.Combine(_work.Path, DatabaseFiles.WalBackupFolder)));
        Assert.Contains($"the last stop was not clean: DuckDB replayed the WAL it left; a copy of it is kept at {copy}.", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// <c>migrate down</c> opened DuckDB read-write before deciding to refuse: after a crash it folded the WAL into the file
    /// and copied it to wal-backups/, so a refused command had changed the files. Here DuckDB lacks the log's last event
    /// and holds a WAL, as after a crash; each refusal must leave every file as it was.
    /// </summary>
    [Theory]
    [InlineData("0", false, 2, "without --yes")]
    [InlineData("2", true, 1, "holds acknowledged events up to seq 2 but DuckDB only up to seq 1")]
    [InlineData("7", true, 2, "cannot migrate down to version 7")]
    public async Task MigrateDown_Refused_AfterACrashLeavesEveryFileByteIdentical(string to, bool yes, int expectedExit, string expectedMessage)
    {
        await WriteAndStopAsync(["W-1", "W-2"], SigTerm);
        using (var database = DuckDbDatabase.Open(_work.DatabasePath))
        using (var connection = database.OpenConnection())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "PRAGMA disable_checkpoint_on_shutdown; DELETE FROM trade_events WHERE seq = (SELECT max(seq) FROM trade_events)";
            command.ExecuteNonQuery();
        }

        Assert.True(new FileInfo(Wal).Length > 0, "the set-up left a WAL, as a crash does");
        var before = Snapshot();

        var (exitCode, output) = await RunAsync(["migrate", "down", "--to", to, .. (yes ? new[] { "--yes" } : [])]);

        Assert.True(exitCode == expectedExit, $"exit {exitCode}\n{output}");
        Assert.Contains(expectedMessage, output, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot());
        Assert.False(Directory.Exists(Path.Combine(_work.Path, DatabaseFiles.WalBackupFolder)));
    }

    /// <summary>
    /// Defect 2: after an unclean stop the log holds acknowledged events DuckDB lacks; rolling back to version 2 (a binary
    /// from before the log) used to say "already at version 2" and the old binary served without them.
    /// </summary>
    [Fact]
    public async Task MigrateDownTo2_LogHoldsEventsDuckDbLacks_RefusedUntilAServeAppliedTheLog()
    {
        CreateDatabase();
        await WriteAndStopAsync(["U-1", "U-2", "U-3"], SigKill);
        // DuckDB lost what it was given after the log's fsync (the kill, then a lost WAL): only the log holds U-1..U-3.
        File.WriteAllBytes(Wal, []);

        var (refusedExit, refusedOutput) = await RunAsync("migrate", "down", "--to", "2", "--yes");
        var (noYesExit, noYesOutput) = await RunAsync("migrate", "down", "--to", "2");

        Assert.True(refusedExit == 1, $"exit {refusedExit}\n{refusedOutput}");
        Assert.Contains("holds acknowledged events up to seq 3 but DuckDB only up to seq 0", refusedOutput);
        Assert.Contains("Start 'tradestore serve'", refusedOutput);
        Assert.Equal(2, noYesExit);
        Assert.Contains("0003_journal_log.down.sql", noYesOutput);
        Assert.Contains("With --yes too: refusing", noYesOutput);
        Assert.Equal((3, 0L), ReadDuckDb());

        // The advice: one start (which replays the log into DuckDB) and a clean stop.
        await ServeSession.RunAsync(_work.Path, _ => Task.CompletedTask);
        var (downExit, downOutput) = await RunAsync("migrate", "down", "--to", "2", "--yes");

        Assert.True(downExit == 0, downOutput);
        Assert.Contains("reverted 0003_journal_log", downOutput);
        Assert.Contains("now at version 2", downOutput);
        Assert.Contains("ignores it", downOutput);
        Assert.Equal((2, 3L), ReadDuckDb());
    }

    /// <summary>With Storage:AutoMigrate on (the default) start-up applies the log's version; off, it is pending like any other.</summary>
    [Fact]
    public async Task Serve_DatabaseAtVersion2_AutoMigrateAppliesTheJournalLogVersionAndOffReportsItPending()
    {
        CreateDatabase(toVersion: 2);

        var (offExit, offOutput) = await TradeStoreProcess.RunAsync(["serve", "--data", _work.Path, "--urls", _url], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__STORAGE__AUTOMIGRATE"] = "false" });
        Assert.True(offExit == 1, offOutput);
        Assert.Contains("1 pending: 0003_journal_log", offOutput);
        Assert.Equal((2, 0L), ReadDuckDb());

        await using (var serve = await StartAsync())
        {
            await serve.WaitForOutputAsync("Applied schema migration 0003_journal_log", Patience);
            Assert.DoesNotContain("0001_initial", serve.Output);
            serve.Signal(SigTerm);
            Assert.Equal(0, await serve.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        Assert.Equal((3, 0L), ReadDuckDb());
    }

    /// <summary>
    /// Defect 7: "Drops every trade, event and checkpoint" left the log in place, so the next start replayed every trade
    /// back, or, on a directory upgraded from before the log (its log starts after DuckDB's first seq), exited 5.
    /// </summary>
    [Fact]
    public async Task MigrateDownTo0_DirectoryUpgradedFromBeforeTheLog_MovesTheLogAsideAndTheNextServeStartsEmpty()
    {
        CreateDatabase(toVersion: 2, preLogTrades: 1);
        await WriteAndStopAsync(["P-2"], SigTerm);
        Assert.True(Directory.Exists(JournalDirectory));

        var (noYesExit, noYesOutput) = await RunAsync("migrate", "down", "--to", "0");
        Assert.Equal(2, noYesExit);
        Assert.Contains($"{JournalDirectory}/ is moved aside to {Path.Combine(_work.Path, JournalLogRollback.SetAsidePrefix)}", noYesOutput);
        Assert.True(Directory.Exists(JournalDirectory));

        var (exitCode, output) = await RunAsync("migrate", "down", "--to", "0", "--yes");

        Assert.True(exitCode == 0, output);
        Assert.Contains($"moved the journal log {JournalDirectory}/ aside to", output);
        Assert.Contains("now at version 0", output);
        Assert.False(Directory.Exists(JournalDirectory));
        var aside = Assert.Single(Directory.GetDirectories(_work.Path, JournalLogRollback.SetAsidePrefix + "*"));
        Assert.NotEmpty(Directory.GetFiles(aside, "*" + JournalLog.SegmentExtension));

        await using var serve = await StartAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync("/v1/trades/P-1", TestContext.Current.CancellationToken)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync("/v1/trades/P-2", TestContext.Current.CancellationToken)).StatusCode);
    }

    /// <summary>
    /// A database made in this process, closed (so checkpointed) before any child opens it: at <paramref name="toVersion"/>,
    /// with <paramref name="preLogTrades"/> trades P-1… written as a binary from before the log wrote them (into DuckDB only).
    /// </summary>
    private void CreateDatabase(int? toVersion = null, int preLogTrades = 0)
    {
        using var database = DuckDbDatabase.Open(_work.DatabasePath);
        DuckDbSchema.CreateRunner(database).UpAsync(toVersion).GetAwaiter().GetResult();
        using var connection = database.OpenConnection();
        for (var seq = 1; seq <= preLogTrades; seq++)
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"INSERT INTO trade_events VALUES ({seq}, 'P-{seq}', 1, 'create', 'ACC-1', 'AAPL', 'buy', 1, 1, 0, 0, NULL, NULL, 'new', NULL, NULL, " +
                "TIMESTAMP '2026-11-26 09:00:00', TIMESTAMP '2026-11-26 09:00:00', TIMESTAMP '2026-11-26 09:00:00', NULL)";
            command.ExecuteNonQuery();
        }
    }

    /// <summary>Starts serve, creates the trades, then stops it with <paramref name="signal"/>.</summary>
    private async Task WriteAndStopAsync(IEnumerable<string> tradeIds, int signal)
    {
        await using var serve = await StartAsync();
        foreach (var tradeId in tradeIds)
        {
            Assert.NotNull(await AcknowledgedWrites.SendAsync(Http, "/v1/trades",
                $$"""{"tradeId":"{{tradeId}}","account":"ACC-1","symbol":"SYM","side":"buy","quantity":"1","price":"1"}""", HttpStatusCode.Created));
        }

        serve.Signal(signal);
        await serve.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    private async Task<TradeStoreProcess> StartAsync()
    {
        Http.BaseAddress ??= new Uri(_url);
        var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", _url], _work.Path);
        await child.WaitUntilAnsweringAsync($"{_url}/health/ready", Patience);
        return child;
    }

    /// <summary>DuckDB's schema version and max(seq), read-only.</summary>
    private (int Version, long LastSeq) ReadDuckDb()
    {
        using var database = DuckDbDatabase.OpenReadOnly(_work.DatabasePath);
        var version = DuckDbSchema.CreateRunner(database).StatusAsync().GetAwaiter().GetResult().CurrentVersion;
        return (version, new JournalReader(database).LastSeq());
    }

    /// <summary>Every file and folder of the data directory, files with their SHA-256.</summary>
    private Dictionary<string, string> Snapshot() =>
        Directory.GetFileSystemEntries(_work.Path, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => Directory.Exists(f) ? "folder" : Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
}
