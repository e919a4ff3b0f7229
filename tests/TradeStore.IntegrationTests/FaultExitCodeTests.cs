using System.Net.Http.Json;
using TradeStore.Storage;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// The faults of the independent fault run (issue 18) as a user meets them: a full disk, a corrupt data block, an
/// unwritable data directory, and derived stores ahead of the journal each end <c>serve</c> or <c>verify</c> with a
/// documented exit code and a message naming the file, the cause and what to do; never a .NET stack trace.
/// </summary>
[Collection(nameof(FaultCollection))]
public sealed class FaultExitCodeTests : IDisposable
{
    private const int SigTerm = 15;
    private readonly TempDirectory _work = new("faults");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task Serve_DiskFullWithAWalToKeep_ExitsFourSayingFreeSpaceAndLeavesNoEmptyCopy()
    {
        using var disk = SmallDisk.Mount(megabytes: 16);
        using (var database = DuckDbDatabase.Open(disk.DatabasePath))
        {
            DuckDbSchema.MigrateToLatest(database);
            using var connection = database.OpenConnection();
            using var command = connection.CreateCommand();
            // What a crash leaves: a commit in the WAL, no checkpoint.
            command.CommandText = "PRAGMA disable_checkpoint_on_shutdown; INSERT INTO sync_checkpoints VALUES ('probe', 0, TIMESTAMP '2026-01-01')";
            command.ExecuteNonQuery();
        }

        var wal = DatabaseFiles.WalPath(disk.DatabasePath);
        Assert.True(new FileInfo(wal).Length > 0, "the set-up left a WAL");
        disk.Fill();

        var (exitCode, output) = await ServeAsync(disk.Path);

        Assert.True(exitCode == 4, $"exit code {exitCode}:\n{output}");
        Assert.Contains(wal, output);
        Assert.Contains("The disk is full: free space on it and start again", output);
        Assert.DoesNotContain("recover --from", output);
        Assert.DoesNotContain("Unhandled exception", output);
        var backups = Path.Combine(disk.Path, DatabaseFiles.WalBackupFolder);
        Assert.Empty(Directory.Exists(backups) ? Directory.GetFiles(backups) : []);

        disk.Empty();
        await using var served = await StartServeAsync(disk.Path);
        Assert.Single(Directory.GetFiles(backups)); // with space back, the copy is made and serve starts
    }

    [Fact]
    public async Task ServeAndVerify_CorruptDataBlock_ExitFourNamingTheFileAndTheRecovery()
    {
        await WriteTradesThroughServeAsync(_work.Path, count: 3000);
        CorruptUsedDataBlock(_work.DatabasePath);

        var (serveExit, serveOutput) = await ServeAsync(_work.Path);
        var (verifyExit, verifyOutput) = await TradeStoreProcess.RunAsync(["verify", "--data", _work.Path], _work.Path);

        foreach (var (exitCode, output) in new[] { (serveExit, serveOutput), (verifyExit, verifyOutput) })
        {
            Assert.True(exitCode == 4, $"exit code {exitCode}:\n{output}");
            Assert.Contains(_work.DatabasePath, output);
            Assert.Contains("recover --from clickhouse --set-aside", output);
            Assert.DoesNotContain("Unhandled exception", output);
        }
    }

    [Fact]
    public async Task Serve_JournalFolderIsAFile_ExitsFourSayingItIsAFileNotACrash()
    {
        var data = _work.File("data");
        Directory.CreateDirectory(data);
        var journal = Path.Combine(data, "journal");
        await File.WriteAllTextAsync(journal, "x", TestContext.Current.CancellationToken);

        var (exitCode, output) = await ServeAsync(data);

        Assert.True(exitCode == 4, $"exit code {exitCode}:\n{output}");
        Assert.Contains($"{journal} is a file where TradeStore needs a directory", output);
        Assert.DoesNotContain("Unhandled exception", output);
        Assert.Equal("x", await File.ReadAllTextAsync(journal, TestContext.Current.CancellationToken));
    }

    /// <summary>
    /// The same fault met by <c>recover --from duckdb</c>, the command for a journal log serve refuses. Regression: it said
    /// "the journal log reads whole, as serve reads it at start-up … nothing to rebuild" and exited 0, while serve and
    /// verify stop with exit 4 on it.
    /// </summary>
    [Fact]
    public async Task RecoverFromDuckDb_JournalFolderIsAFile_ExitsFourAsServeDoes()
    {
        await WriteTradesThroughServeAsync(_work.Path, count: 3);
        var journal = Path.Combine(_work.Path, "journal");
        Directory.Move(journal, _work.File("journal-moved"));
        await File.WriteAllTextAsync(journal, "x", TestContext.Current.CancellationToken);

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["recover", "--from", "duckdb", "--data", _work.Path], _work.Path);

        Assert.True(exitCode == 4, $"exit code {exitCode}:\n{output}");
        Assert.Contains($"{journal} is a file where TradeStore needs a directory", output);
        Assert.DoesNotContain("reads whole", output);
        Assert.Equal("x", await File.ReadAllTextAsync(journal, TestContext.Current.CancellationToken));
    }

    /// <summary>
    /// --data naming a file itself (not a folder under one). Regression: .NET's "The file '…' already exists" fell through
    /// to the advice for a disk problem ("Check the disk and the path (space, permissions, mount)").
    /// </summary>
    [Fact]
    public async Task Serve_DataDirectoryIsAFile_ExitsFourSayingItIsAFile()
    {
        var file = _work.File("data-file");
        await File.WriteAllTextAsync(file, "x", TestContext.Current.CancellationToken);

        var (exitCode, output) = await ServeAsync(file);

        Assert.True(exitCode == 4, $"exit code {exitCode}:\n{output}");
        Assert.Contains($"{file} is a file, not a directory: point --data (Storage:DataDirectory) at a directory.", output);
        Assert.DoesNotContain("Check the disk", output);
        Assert.Equal("x", await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Serve_DataDirectoryUnderAFile_ExitsFourSayingItIsAFile()
    {
        var file = _work.File("not-a-directory");
        await File.WriteAllTextAsync(file, "x", TestContext.Current.CancellationToken);

        var (exitCode, output) = await ServeAsync(Path.Combine(file, "data"));

        Assert.True(exitCode == 4, $"exit code {exitCode}:\n{output}");
        Assert.Contains($"{file} is a file, not a directory", output);
        Assert.DoesNotContain("recover --from", output);
        Assert.DoesNotContain("Unhandled exception", output);
    }

    /// <summary>
    /// Session 37: a data directory marked immutable (<c>chattr +i</c>, which even root may not write) with events to replay
    /// into DuckDB: DuckDB's "Cannot open file …wal: Operation not permitted" got the advice to rebuild the database from
    /// ClickHouse (<c>recover --from clickhouse --set-aside</c>), though nothing was damaged.
    /// </summary>
    [Fact]
    public async Task Serve_DataDirectoryImmutableWithEventsToReplay_ExitsFourSayingLiftTheAttributeNotRecover()
    {
        Assert.SkipUnless(Environment.UserName == "root" && File.Exists("/usr/bin/chattr"), "needs root and chattr (e2fsprogs)");
        var data = Directory.CreateDirectory(_work.File("data")).FullName;
        // The database as it was before the writes put back: the journal log holds events DuckDB has not, so the start
        // must commit them, and DuckDB must create its WAL in the directory.
        var database = Path.Combine(data, "tradestore.duckdb");
        var (migrated, migrateOutput) = await TradeStoreProcess.RunAsync(["migrate", "up", "--data", data], _work.Path);
        Assert.True(migrated == 0, migrateOutput);
        File.Copy(database, _work.File("before.duckdb"));
        await WriteTradesThroughServeAsync(data, 10);
        File.Copy(_work.File("before.duckdb"), database, overwrite: true);
        File.Delete(DatabaseFiles.WalPath(database));
        Assert.SkipUnless(Chattr("+i", data) == 0, "the file system does not take chattr +i");
        try
        {
            var (exitCode, output) = await ServeAsync(data);

            Assert.True(exitCode == 4, $"exit code {exitCode}:\n{output}");
            Assert.Contains("chattr -i", output);
            Assert.Contains("do not recover it", output);
            Assert.DoesNotContain("recover --from", output);
            Assert.DoesNotContain("Unhandled exception", output);
        }
        finally
        {
            Chattr("-i", data);
        }
    }

    /// <summary>
    /// Session 37: <c>verify</c> (and <c>migrate status</c>, <c>recover --from duckdb</c>) run by a user who may not enter
    /// the service's data directory (mode 0700) said "configuration error: Storage:DataDirectory: there is no database at
    /// …" (exit 2) of a database that was there.
    /// </summary>
    [Theory]
    [InlineData("verify")]
    [InlineData("migrate", "status")]
    public async Task OfflineCommand_DataDirectoryOfAnotherUser_ExitsFourSayingPermissionNotNoDatabase(params string[] command)
    {
        Assert.SkipUnless(Environment.UserName == "root" && File.Exists("/usr/bin/setpriv"), "needs root and setpriv (util-linux)");
        var data = Path.Combine(_work.Path, "data");
        var (migrated, migrateOutput) = await TradeStoreProcess.RunAsync(["migrate", "up", "--data", data], _work.Path);
        Assert.True(migrated == 0, migrateOutput);
        File.SetUnixFileMode(data, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        await using var child = TradeStoreProcess.Start([.. command, "--data", data], Path.GetTempPath(),
            launcher: ["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]);
        var exitCode = await child.WaitForExitAsync(TimeSpan.FromMinutes(1));

        Assert.True(exitCode == 4, $"exit code {exitCode}:\n{child.Output}");
        Assert.Contains($"cannot read {Path.Combine(data, "tradestore.duckdb")}", child.Output);
        Assert.Contains("permission", child.Output);
        Assert.DoesNotContain("there is no database", child.Output);
        Assert.DoesNotContain("Unhandled exception", child.Output);
    }

    private static int Chattr(string change, string path)
    {
        using var process = System.Diagnostics.Process.Start("/usr/bin/chattr", [change, path]);
        process.WaitForExit();
        return process.ExitCode;
    }

    [Fact]
    public async Task Serve_DataDirectoryOnReadOnlyFileSystem_ExitsFourSayingRemountNotRecover()
    {
        using var disk = SmallDisk.Mount(megabytes: 1, readOnly: true);

        var (exitCode, output) = await ServeAsync(Path.Combine(disk.Path, "data"));

        Assert.True(exitCode == 4, $"exit code {exitCode}:\n{output}");
        Assert.Contains(Path.Combine(disk.Path, "data"), output);
        Assert.Contains("read-only", output);
        Assert.DoesNotContain("recover --from", output);
        Assert.DoesNotContain("Unhandled exception", output);
    }

    [Fact]
    public async Task Serve_RedisAndClickHouseAheadOfJournal_ExitsFiveWithTheRecoverCommandThatRestoresEverything()
    {
        var environment = new Dictionary<string, string>
        {
            ["TRADESTORE__REDIS__CONNECTION"] = TestServers.Redis,
            ["TRADESTORE__REDIS__KEYPREFIX"] = $"faults:{Guid.NewGuid():N}:",
            ["TRADESTORE__CLICKHOUSE__URL"] = TestServers.ClickHouse,
            ["TRADESTORE__CLICKHOUSE__DATABASE"] = $"faults_{Guid.NewGuid():N}",
        };
        const int Trades = 40;
        const int Lost = 14;
        await WriteTradesThroughServeAsync(_work.Path, Trades, environment, waitForSinks: true);
        // What losing the last 14 events everywhere leaves (for example Storage:Durability=os and an OS crash): the
        // journal log, DuckDB's journal, trade_state and every checkpoint end 14 events earlier, at a record boundary.
        Execute($"""
            DELETE FROM trade_events WHERE seq > {Trades - Lost};
            DELETE FROM trade_state WHERE last_seq > {Trades - Lost};
            UPDATE sync_checkpoints SET last_seq = least(last_seq, {Trades - Lost});
            """);
        CutJournalLogAfter(Trades - Lost);

        var (exitCode, output) = await ServeAsync(_work.Path, environment);

        Assert.True(exitCode == 5, $"exit code {exitCode}:\n{output}");
        Assert.Contains($"redis holds events up to seq {Trades}", output);
        Assert.Contains($"clickhouse holds events up to seq {Trades}", output);
        Assert.Contains($"the journal ends at seq {Trades - Lost}", output);
        Assert.Contains("Run: tradestore recover --from redis", output);
        Assert.Equal(Trades - Lost, Scalar("SELECT max(seq) FROM trade_events")); // no seq was handed out

        var (recoverExit, recoverOutput) = await TradeStoreProcess.RunAsync(["recover", "--from", "redis", "--data", _work.Path], _work.Path, environment);
        Assert.True(recoverExit == 0, recoverOutput);
        Assert.Equal(Trades, Scalar("SELECT count(*) FROM trade_events"));
        await using var served = await StartServeAsync(_work.Path, environment);
    }

    private static async Task<(int ExitCode, string Output)> ServeAsync(string data, IDictionary<string, string>? environment = null) =>
        await TradeStoreProcess.RunAsync(["serve", "--data", data, "--urls", $"http://127.0.0.1:{FreePort.Next()}"], Path.GetTempPath(), environment,
            TimeSpan.FromSeconds(60));

    /// <summary>Starts serve and waits until it is ready; disposing it kills it.</summary>
    private static async Task<IAsyncDisposable> StartServeAsync(string data, IDictionary<string, string>? environment = null)
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var child = TradeStoreProcess.Start(["serve", "--data", data, "--urls", url], Path.GetTempPath(), environment);
        await child.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        return child;
    }

    private static async Task WriteTradesThroughServeAsync(string data, int count, IDictionary<string, string>? environment = null, bool waitForSinks = false)
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var child = TradeStoreProcess.Start(["serve", "--data", data, "--urls", url], data, environment);
        await child.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        for (var sent = 0; sent < count; sent += 500)
        {
            var trades = Enumerable.Range(sent, Math.Min(500, count - sent))
                .Select(i => new { type = "create", tradeId = $"F-{i:D6}", account = $"ACC-{i % 7}", symbol = "AAPL", side = "buy", quantity = 10, price = 100.5m });
            using var response = await http.PostAsJsonAsync("/v1/trades/batch", trades, TestContext.Current.CancellationToken);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }

        while (waitForSinks)
        {
            var metrics = PrometheusText.Parse(await http.GetStringAsync("/metrics", TestContext.Current.CancellationToken));
            if (metrics["tradestore_sync_events_behind"].Samples.Sum(x => x.Value) == 0 && metrics["tradestore_redis_lag_events"].Samples.Sum(x => x.Value) == 0)
            {
                break;
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        child.Signal(SigTerm);
        Assert.Equal(0, await child.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>Overwrites 4 KiB in the middle of the first 256 KiB block after the file's headers with random bytes.</summary>
    private static void CorruptUsedDataBlock(string databasePath)
    {
        const int HeaderBytes = 3 * 4096;
        const int BlockBytes = 256 * 1024;
        var garbage = new byte[4096];
        new Random(18).NextBytes(garbage);
        using var file = new FileStream(databasePath, FileMode.Open, FileAccess.Write);
        Assert.True(file.Length >= HeaderBytes + BlockBytes, $"the database holds data blocks ({file.Length} bytes)");
        file.Position = HeaderBytes + (BlockBytes / 2);
        file.Write(garbage);
    }

    /// <summary>Rewrites the journal log with only its records up to <paramref name="lastSeq"/>.</summary>
    private void CutJournalLogAfter(long lastSeq)
    {
        var directory = JournalLog.DirectoryFor(_work.DatabasePath);
        List<LogRecord> kept;
        using (var log = JournalLog.Open(directory, new JournalLogOptions()))
        {
            kept = log.IsEmpty ? [] : [.. log.ReadFrom(log.FirstSeq).Where(r => r.Seq <= lastSeq)];
        }

        Directory.Delete(directory, recursive: true);
        using var cut = JournalLog.Open(directory, new JournalLogOptions());
        cut.Begin(kept.Count > 0 ? kept[0].Seq : lastSeq + 1);
        if (kept.Count > 0)
        {
            cut.Append(kept);
        }
    }

    private void Execute(string sql)
    {
        using var database = DuckDbDatabase.Open(_work.DatabasePath);
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private long Scalar(string sql)
    {
        using var database = DuckDbDatabase.Open(_work.DatabasePath);
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>Fault tests mount disks and load the machine: one at a time.</summary>
[CollectionDefinition(nameof(FaultCollection), DisableParallelization = true)]
public sealed class FaultCollection;
