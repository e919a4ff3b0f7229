using TradeStore.Storage;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>The real executable as a child process: start, signals, exit codes, the database lock.</summary>
public sealed class ServeProcessTests : IDisposable
{
    private const int SigTerm = 15;
    private const int SigInt = 2;
    private readonly TempDirectory _work = new("serve");

    public void Dispose() => _work.Dispose();

    [Theory]
    [InlineData(SigTerm)]
    [InlineData(SigInt)]
    public async Task Serve_Signal_ExitsZeroAndReleasesTheDatabase(int signal)
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path);
        await child.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));

        // How long the stop may take is Server:ShutdownTimeout's to bound (10 s by default), not a wall-clock assertion
        // here: on a loaded machine the drain and checkpoint take several times their idle time.
        child.Signal(signal);
        var exitCode = await child.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(exitCode == 0, $"exit code {exitCode}:\n{child.Output}");
        // The start-up line (event 1000) names the version `tradestore --version` prints, for upgrades (operations.md).
        var (_, version) = await TradeStoreProcess.RunAsync(["--version"], _work.Path);
        Assert.Contains($"TradeStore {version.Trim()} serving {url}", child.Output);
        // Closed means the lock is gone: this process can open the same file.
        using var reopened = DuckDbDatabase.Open(_work.DatabasePath);
        Assert.Equal(_work.DatabasePath, reopened.Path);
    }

    /// <summary>
    /// SIGTERM while the host starts (the engine has started, the listeners are not bound yet) once cancelled the start:
    /// Kestrel's bind threw TaskCanceledException and serve died with SIGABRT (exit 134) and a stack trace, so the guard
    /// exited 1. Now the stop waits for the start and is the ordinary one. Several attempts, each signalled the moment
    /// the engine's start-up line appears; every one must end cleanly, whenever in the start the signal landed.
    /// </summary>
    /// <summary>
    /// SIGTERM while serve checks the journal's integrity at start-up, before its host listens for signals: the runtime
    /// ends the process (143) as before, but no longer without a word. At 3,644,736 trades that part of the start took
    /// 40 s, and a stop in it left nothing in the log; event 1013 now names where the start was and what it leaves.
    /// </summary>
    [Fact]
    public async Task Serve_SigtermDuringTheStartUpIntegrityCheck_SaysWhereTheStartWasAndWhatItLeaves()
    {
        using var data = new TempDirectory("serve-early-stop");
        using (var database = DuckDbDatabase.Open(data.DatabasePath))
        {
            // A book whose check takes seconds: 1,000,000 trades, each one create, as a database written before the journal log.
            DuckDbSchema.MigrateToLatest(database);
            using var connection = database.OpenConnection();
            using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO trade_events
                SELECT i, printf('T-%07d', i), 1, 'create', 'ACC-' || (i % 50), 'SYM' || (i % 200), 'sell', 10, 5, 0, 0, NULL, NULL, 'new',
                       NULL, NULL, TIMESTAMP '2026-01-01' + INTERVAL (i) SECOND, TIMESTAMP '2026-01-01' + INTERVAL (i) SECOND,
                       TIMESTAMP '2026-01-01' + INTERVAL (i) SECOND, NULL
                FROM range(1, 1000001) r(i);
                INSERT INTO trade_state
                SELECT trade_id, version, seq, account, symbol, side, quantity, price, filled_quantity, filled_notional, status, venue, trader,
                       executed_at, created_at, recorded_at
                FROM trade_events;
                INSERT OR REPLACE INTO sync_checkpoints VALUES ('trade_state', 1000000, TIMESTAMP '2026-01-02');
                """;
            command.ExecuteNonQuery();
        }

        await using var child = TradeStoreProcess.Start(["serve", "--data", data.Path, "--urls", $"http://127.0.0.1:{FreePort.Next()}"], data.Path);
        await child.WaitForOutputAsync("Integrity check of 1000000 events", TimeSpan.FromSeconds(120));

        child.Signal(SigTerm);
        var exitCode = await child.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(exitCode == 128 + SigTerm, $"exit code {exitCode}:\n{child.Output}");
        Assert.Contains("[1013] Received SIGTERM while starting, checking the journal's integrity (Storage:VerifyOnStart), before serving: " +
            "the process ends now", child.Output, StringComparison.Ordinal);
        Assert.Contains("the next start goes on from there", child.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", child.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_SigtermRightAfterTheEngineStarted_ExitsZeroAfterTheUsualStop()
    {
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            using var data = new TempDirectory($"serve-startup-{attempt}");
            await using var child = TradeStoreProcess.Start(["serve", "--data", data.Path, "--urls", $"http://127.0.0.1:{FreePort.Next()}"], data.Path);
            await child.WaitForOutputAsync("WriteEngine started", TimeSpan.FromSeconds(60));

            child.Signal(SigTerm);
            var exitCode = await child.WaitForExitAsync(TimeSpan.FromSeconds(30));

            Assert.True(exitCode == 0, $"attempt {attempt}: exit code {exitCode}:\n{child.Output}");
            Assert.DoesNotContain("Unhandled exception", child.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Hosting failed to start", child.Output, StringComparison.Ordinal);
            // The usual stop: the engine drained and checkpointed (event 2002), and the database is released.
            Assert.Contains("WriteEngine stopped at seq 0; database checkpointed", child.Output, StringComparison.Ordinal);
            // Where the stop's time went, step by step.
            Assert.Matches(@"The stop took \d+\.\d{3} s: queued commands \d+\.\d{3} s, publishing and applying to DuckDB \d+\.\d{3} s, trade_state flush \d+\.\d{3} s, checkpoint \d+\.\d{3} s", child.Output);
            using var reopened = DuckDbDatabase.Open(data.DatabasePath);
            Assert.Equal(data.DatabasePath, reopened.Path);
        }
    }

    [Theory]
    [InlineData("standalone", true)]
    [InlineData("inline scheduling off", false)]
    [InlineData("cluster node", true)]
    public async Task Serve_InlineScheduling_PollsSocketsOnOneEventThreadPerCore_StandaloneAndInACluster(string mode, bool inline)
    {
        Assert.SkipWhen(Environment.ProcessorCount < 2, "with one core .NET polls on one thread either way");
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var environment = mode switch
        {
            "inline scheduling off" => new Dictionary<string, string> { ["TRADESTORE__SERVER__INLINESCHEDULING"] = "false" },
            "cluster node" => new Dictionary<string, string>
            {
                ["TRADESTORE__CLUSTER__ETCD"] = TestServers.Etcd,
                ["TRADESTORE__CLUSTER__NODE"] = "n1",
                ["TRADESTORE__CLUSTER__ADVERTISEURL"] = url,
                ["TRADESTORE__CLUSTER__KEYPREFIX"] = $"/serve-{Guid.NewGuid():N}/",
            },
            _ => null,
        };
        await using var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path, environment);
        await child.WaitUntilAnsweringAsync($"{url}/health/live", TimeSpan.FromSeconds(60));

        // A cluster node's coordinator opens its etcd connection once the host runs, beside the HTTP server's start, so
        // the connection (and with it the thread that reads it) may come after the first answer: waited for, not read once.
        if (mode == "cluster node")
        {
            await Eventually.TrueAsync(() => ThreadNames(child.Id).Contains("etcd-reader"), TimeSpan.FromSeconds(60),
                () => $"no etcd-reader thread among {string.Join(", ", ThreadNames(child.Id).Distinct())}\n{child.Output}");
        }

        // .NET starts one event thread per core when completions run inline on them, one per 30 cores otherwise.
        var threads = ThreadNames(child.Id);
        var eventThreads = threads.Count(name => name == ".NET Sockets");

        Assert.True((inline ? Environment.ProcessorCount : 1) == eventThreads, $"{mode}: {eventThreads} event threads\n{child.Output}");
        // A cluster node's etcd connection is read by a thread of its own, never by the threads that run requests.
        Assert.Equal(mode == "cluster node", threads.Contains("etcd-reader"));
    }

    /// <summary>The names of a process's threads (<c>/proc/PID/task/TID/comm</c>); a thread that ends while they are read is left out.</summary>
    private static List<string> ThreadNames(int pid)
    {
        var names = new List<string>();
        foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            try
            {
                names.Add(File.ReadAllText(Path.Combine(task, "comm")).Trim());
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // the thread ended meanwhile
            }
        }

        return names;
    }

    [Fact]
    public async Task Serve_DatabaseHeldByAnotherProcess_ExitsWithLockErrorNamingFileAndPid()
    {
        using var holder = DuckDbDatabase.Open(_work.DatabasePath);

        var (exitCode, output) = await TradeStoreProcess.RunAsync(
            ["serve", "--data", _work.Path, "--urls", $"http://127.0.0.1:{FreePort.Next()}"], _work.Path);

        Assert.Equal(3, exitCode);
        Assert.Contains(_work.DatabasePath, output);
        Assert.Contains($"PID {Environment.ProcessId}", output);
        Assert.True(File.Exists(_work.DatabasePath), "the database file is never moved or deleted");
    }

    /// <summary>The WAL of a live server is not a crash's: a refused offline command leaves no copy of it behind.</summary>
    [Theory]
    [InlineData("verify")]
    [InlineData("serve")]
    public async Task Command_DatabaseHeldWithALiveWal_ExitsThreeAndKeepsNoCopyOfTheWal(string command)
    {
        using var holder = DuckDbDatabase.Open(_work.DatabasePath);
        using (var connection = holder.OpenConnection())
        using (var write = connection.CreateCommand())
        {
            write.CommandText = "CREATE TABLE live_wal AS SELECT 1 AS x";
            write.ExecuteNonQuery();
        }

        Assert.True(new FileInfo(DatabaseFiles.WalPath(_work.DatabasePath)).Length > 0, "the holder's WAL holds its write");
        string[] args = command == "serve" ? ["serve", "--data", _work.Path, "--urls", $"http://127.0.0.1:{FreePort.Next()}"] : [command, "--data", _work.Path];

        var (exitCode, output) = await TradeStoreProcess.RunAsync(args, _work.Path);

        Assert.True(exitCode == 3, output);
        var backups = Path.Combine(_work.Path, DatabaseFiles.WalBackupFolder);
        Assert.Empty(Directory.Exists(backups) ? Directory.GetFiles(backups) : []);
    }

    [Fact]
    public async Task Serve_InvalidConfiguration_ExitsTwoNamingTheKey()
    {
        var (exitCode, output) = await TradeStoreProcess.RunAsync(
            ["serve", "--data", _work.Path], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__CLICKHOUSE__URL"] = "nonsense" });

        Assert.Equal(2, exitCode);
        Assert.Contains("ClickHouse:Url", output);
        Assert.False(File.Exists(_work.DatabasePath), "a bad configuration stops before the database is touched");
    }

    [Fact]
    public async Task ConfigShow_WithSecrets_PrintsEffectiveValuesRedacted()
    {
        var secrets = _work.File("secrets.toml");
        await File.WriteAllTextAsync(secrets, "[Redis]\nPassword = \"hunter2\"\n", TestContext.Current.CancellationToken);
        File.SetUnixFileMode(secrets, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var (exitCode, output) = await TradeStoreProcess.RunAsync(
            ["config", "show", "--data", "/srv/trades"], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__REDIS__CONNECTION"] = "127.0.0.1:6379" });

        Assert.Equal(0, exitCode);
        Assert.Contains("/srv/trades", output);
        Assert.Contains("127.0.0.1:6379", output);
        Assert.DoesNotContain("hunter2", output);
    }

    [Fact]
    public async Task Help_EveryCommand_DescribesItself()
    {
        foreach (var command in new[] { new[] { "--help" }, ["serve", "--help"], ["config", "--help"], ["config", "show", "--help"] })
        {
            var (exitCode, output) = await TradeStoreProcess.RunAsync(command, _work.Path);

            Assert.Equal(0, exitCode);
            Assert.Contains("Usage:", output);
        }

        var (versionExit, version) = await TradeStoreProcess.RunAsync(["--version"], _work.Path);
        Assert.Equal(0, versionExit);
        Assert.Matches(@"^\d+\.\d+\.\d+", version.Trim());
    }

    [Fact]
    public async Task Help_ShippedCommandHasNoBench_AndTheBenchToolShipsApart()
    {
        var (exitCode, help) = await TradeStoreProcess.RunAsync(["--help"], _work.Path);
        Assert.Equal(0, exitCode);
        Assert.DoesNotMatch(@"(?m)^\s+bench\b", help);
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(TradeStoreProcess.CliPath)!, "ScottPlot.dll")), "the shipped tradestore must not carry ScottPlot");

        var (benchExit, benchHelp) = await TradeStoreProcess.RunBenchAsync(["--help"], _work.Path);
        Assert.Equal(0, benchExit);
        foreach (var command in new[] { "engine", "index", "http", "all", "sync", "redis" })
        {
            Assert.Matches($@"(?m)^\s+{command}\b", benchHelp);
        }
    }

    [Fact]
    public void RuntimeConfig_ShippedAndBench_ThreadPoolDoesNotSpinAndServerGc()
    {
        foreach (var runtimeConfig in new[] { TradeStoreProcess.CliPath, TradeStoreProcess.BenchPath }.Select(dll => Path.ChangeExtension(dll, ".runtimeconfig.json")))
        {
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(runtimeConfig));
            var properties = json.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

            Assert.Equal(0, properties.GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").GetInt32());
            Assert.True(properties.GetProperty("System.GC.Server").GetBoolean(), runtimeConfig);
        }
    }
}
