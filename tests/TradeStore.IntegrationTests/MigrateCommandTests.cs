using TradeStore.Storage;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary><c>tradestore migrate …</c> and the schema rules of <c>serve</c>, through the real executable.</summary>
public sealed class MigrateCommandTests : IDisposable
{
    private readonly TempDirectory _work = new("migrate");

    public void Dispose() => _work.Dispose();

    private Task<(int ExitCode, string Output)> RunAsync(params string[] arguments) =>
        TradeStoreProcess.RunAsync([.. arguments, "--data", _work.Path], _work.Path);

    private Task<(int ExitCode, string Output)> RunWithClickHouseAsync(string database, params string[] arguments) =>
        TradeStoreProcess.RunAsync([.. arguments, "--data", _work.Path], _work.Path, new Dictionary<string, string>
        {
            ["TRADESTORE__CLICKHOUSE__URL"] = TestServers.ClickHouse,
            ["TRADESTORE__CLICKHOUSE__DATABASE"] = database,
        });

    /// <summary>Migrates in this process, then changes schema_migrations by hand; the database is closed again before the child runs.</summary>
    private void PrepareDatabase(string? sql = null)
    {
        using var database = DuckDbDatabase.Open(_work.DatabasePath);
        DuckDbSchema.MigrateToLatest(database);
        if (sql is not null)
        {
            using var connection = database.OpenConnection();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }
    }

    private string TablesOfDatabase()
    {
        using var database = DuckDbDatabase.Open(_work.DatabasePath);
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM duckdb_tables()";
        return command.ExecuteScalar() as string ?? "";
    }

    private const string Drift = "UPDATE schema_migrations SET checksum = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'";
    private const string Newer = "INSERT INTO schema_migrations VALUES (4, 'future', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', now()::TIMESTAMP, 1)";

    /// <summary>A mistyped --data is not a fresh database at version 0: the commands that only read refuse it, creating nothing.</summary>
    [Theory]
    [InlineData("status")]
    [InlineData("verify")]
    [InlineData("down", "--to", "0", "--yes")]
    public async Task Migrate_DataDirectoryMissing_ExitTwoNamingItAndNothingCreated(params string[] command)
    {
        var missing = Path.Combine(_work.Path, "no-such-dir");

        var (exit, output) = await TradeStoreProcess.RunAsync(["migrate", .. command, "--data", missing], _work.Path);

        Assert.True(exit == 2, output);
        Assert.Contains($"tradestore: configuration error: Storage:DataDirectory: there is no directory at {missing}", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
    }

    /// <summary>A configuration file that exists but cannot be read (here /proc/self/mem, which fails every read with EIO, even for root) is a configuration error, not a crash.</summary>
    [Theory]
    [InlineData("config", "show")]
    [InlineData("migrate", "status")]
    [InlineData("guard", "--", "serve")]
    public async Task Command_ConfigFileUnreadable_ExitTwoWithOneLine(params string[] command)
    {
        var (exit, output) = await TradeStoreProcess.RunAsync([.. command, "--config", "/proc/self/mem"], _work.Path);

        Assert.True(exit == 2, output);
        Assert.Contains("tradestore: configuration error: A configuration file cannot be read:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal); // no stack trace
    }

    [Fact]
    public async Task MigrateUp_FreshDirectory_PrintsEachMigrationWithDurationAndStatusShowsIt()
    {
        var (upExit, upOutput) = await RunAsync("migrate", "up");
        var (statusExit, statusOutput) = await RunAsync("migrate", "status");
        var (againExit, againOutput) = await RunAsync("migrate", "up");

        Assert.True(upExit == 0, upOutput);
        Assert.Matches(@"applied 0001_initial in \d+\.\d ms", upOutput);
        Assert.Equal(0, statusExit);
        Assert.Contains("schema version 3", statusOutput);
        Assert.Matches(@"0001\s+initial\s+applied\s+[0-9a-f]{16}", statusOutput);
        Assert.Matches(@"0002\s+deferred_trade_state\s+applied\s+[0-9a-f]{16}", statusOutput);
        Assert.Matches(@"0003\s+journal_log\s+applied\s+[0-9a-f]{16}", statusOutput);
        Assert.Equal(0, againExit);
        Assert.Contains("nothing to apply", againOutput);
    }

    [Fact]
    public async Task MigrateStatus_FreshDirectory_ListsPendingAndCreatesNoFile()
    {
        var (exitCode, output) = await RunAsync("migrate", "status");

        Assert.Equal(0, exitCode);
        Assert.Matches(@"0001\s+initial\s+pending", output);
        Assert.False(File.Exists(_work.DatabasePath), "status only reads");
    }

    [Fact]
    public async Task MigrateUpDryRun_Anything_PrintsSqlAndChangesNothing()
    {
        var (exitCode, output) = await RunAsync("migrate", "up", "--dry-run");

        Assert.Equal(0, exitCode);
        Assert.Contains("CREATE TABLE trade_events", output);
        Assert.Contains("nothing is changed", output);
        Assert.False(File.Exists(_work.DatabasePath), "a dry run creates nothing");

        PrepareDatabase();
        var (downExit, downOutput) = await RunAsync("migrate", "down", "--to", "0", "--dry-run");
        Assert.Equal(0, downExit);
        Assert.Contains("DROP TABLE trade_events", downOutput);
        Assert.Contains("trade_events", TablesOfDatabase());
    }

    [Fact]
    public async Task MigrateDown_WithoutYes_ExitsTwoSayingWhatWouldBeDroppedAndChangesNothing()
    {
        PrepareDatabase();

        var (exitCode, output) = await RunAsync("migrate", "down", "--to", "0");

        Assert.Equal(2, exitCode);
        Assert.Contains("--yes", output);
        Assert.Contains("0001_initial.down.sql: Drops every trade, event and checkpoint.", output);
        Assert.Contains("trade_events", TablesOfDatabase());
    }

    [Fact]
    public async Task MigrateDown_WithYes_RevertsToZero()
    {
        PrepareDatabase();

        var (exitCode, output) = await RunAsync("migrate", "down", "--to", "0", "--yes");

        Assert.True(exitCode == 0, output);
        Assert.Contains("reverted 0001_initial", output);
        Assert.Equal("schema_migrations", TablesOfDatabase());
        Assert.DoesNotContain("still hold", output); // no sinks configured
    }

    /// <summary>
    /// sync status on a database below this binary's schema: one line saying so, as verify says it. Regression: it read
    /// sync_checkpoints anyway and died with an unhandled DuckDBException ("Table with name sync_checkpoints does not
    /// exist!", a stack trace, exit 134).
    /// </summary>
    [Fact]
    public async Task SyncStatus_DatabaseBelowTheSchema_OneLineNamingTheVersionAndNothingChanged()
    {
        PrepareDatabase();
        Assert.Equal(0, (await RunAsync("migrate", "down", "--to", "0", "--yes")).ExitCode);

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["sync", "status", "--data", _work.Path], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__CLICKHOUSE__URL"] = $"http://127.0.0.1:{FreePort.Next()}" });

        Assert.True(exitCode == 1, $"exit code {exitCode}:\n{output}");
        Assert.Contains($"duckdb {_work.DatabasePath} is at schema version 0 and this binary needs version", output);
        Assert.DoesNotContain("Unhandled exception", output);
        Assert.Equal("schema_migrations", TablesOfDatabase());
    }

    /// <summary>
    /// redis rebuild and recover --from redis migrate the database they write; with Redis unreachable they fail, and must
    /// fail before that. Regression: a database at version 0 was at version 3 after "Redis at …: not connected".
    /// </summary>
    [Theory]
    [InlineData("redis", "rebuild")]
    [InlineData("recover", "--from", "redis")]
    public async Task RedisCommand_RedisUnreachable_ExitOneAndSchemaNotMigrated(params string[] command)
    {
        PrepareDatabase();
        Assert.Equal(0, (await RunAsync("migrate", "down", "--to", "0", "--yes")).ExitCode);
        var redis = $"127.0.0.1:{FreePort.Next()}"; // nothing listens there

        var (exitCode, output) = await TradeStoreProcess.RunAsync([.. command, "--data", _work.Path], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__REDIS__CONNECTION"] = redis });

        Assert.True(exitCode == 1, $"exit code {exitCode}:\n{output}");
        Assert.Contains($"tradestore: Redis at {redis}: ", output);
        Assert.Equal("schema_migrations", TablesOfDatabase());
    }

    /// <summary>
    /// recover --from clickhouse into an existing database asks ClickHouse before it opens (and so migrates) the database.
    /// Regression: with ClickHouse unreachable, a database at version 0 was at the latest version after "could not read ClickHouse".
    /// </summary>
    [Fact]
    public async Task RecoverFromClickHouse_ClickHouseUnreachable_ExitOneAndSchemaNotMigrated()
    {
        PrepareDatabase();
        Assert.Equal(0, (await RunAsync("migrate", "down", "--to", "0", "--yes")).ExitCode);
        using var refusing = new RefusingPort();

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["recover", "--from", "clickhouse", "--data", _work.Path], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__CLICKHOUSE__URL"] = $"http://127.0.0.1:{refusing.Port}" });

        Assert.True(exitCode == 1, $"exit code {exitCode}:\n{output}");
        Assert.Contains("tradestore: recover could not read ClickHouse, nothing was written", output);
        Assert.Equal("schema_migrations", TablesOfDatabase());
    }

    /// <summary>
    /// A rollback to 0 with Redis and ClickHouse configured: they keep every dropped event, and the next serve refused to
    /// start with exit 5 calling them lost from the journal, advising a recover that would bring them back. down said
    /// nothing of it; now it says so, before --yes and after, with the commands that empty them.
    /// </summary>
    [Fact]
    public async Task MigrateDownToZero_WithSinksConfigured_SaysTheyKeepTheEventsAndHowToEmptyThem()
    {
        PrepareDatabase();
        var sinks = new Dictionary<string, string>
        {
            ["TRADESTORE__REDIS__CONNECTION"] = TestServers.Redis,
            ["TRADESTORE__REDIS__KEYPREFIX"] = "mig0:",
            ["TRADESTORE__CLICKHOUSE__URL"] = TestServers.ClickHouse,
            ["TRADESTORE__CLICKHOUSE__DATABASE"] = "mig0_never_created",
        };

        var refused = await TradeStoreProcess.RunAsync(["migrate", "down", "--target", "duckdb", "--to", "0", "--data", _work.Path], _work.Path, sinks);
        var done = await TradeStoreProcess.RunAsync(["migrate", "down", "--target", "duckdb", "--to", "0", "--yes", "--data", _work.Path], _work.Path, sinks);

        Assert.Equal(2, refused.ExitCode);
        Assert.True(done.ExitCode == 0, done.Output);
        foreach (var output in new[] { refused.Output, done.Output })
        {
            Assert.Contains("Redis (key prefix 'mig0:') and ClickHouse (database mig0_never_created) still hold the events a rollback to 0 drops", output);
            Assert.Contains("serve refuses to start (exit 5", output);
            Assert.Contains("'tradestore migrate down --target clickhouse --to 0 --yes'", output);
            Assert.Contains("'redis-cli DEL mig0:trades:changes' and then 'tradestore redis rebuild'", output);
        }
    }

    [Theory]
    [InlineData("migrate", "down")]
    [InlineData("migrate", "up", "--to", "7")]
    [InlineData("migrate", "status", "--target", "postgres")]
    public async Task Migrate_BadCommandLine_ExitsTwo(params string[] arguments)
    {
        var (exitCode, output) = await RunAsync(arguments);

        Assert.True(exitCode == 2, output);
    }

    [Fact]
    public async Task MigrateVerify_EditedScript_ExitsOneNamingTheMigration()
    {
        PrepareDatabase(Drift);

        var (exitCode, output) = await RunAsync("migrate", "verify");

        Assert.Equal(1, exitCode);
        Assert.Contains("0001_initial", output);
        Assert.Contains("edited", output);
    }

    [Fact]
    public async Task MigrateVerify_Consistent_ExitsZero()
    {
        PrepareDatabase();

        var (exitCode, output) = await RunAsync("migrate", "verify");

        Assert.True(exitCode == 0, output);
        Assert.Contains("OK", output);
    }

    [Fact]
    public async Task MigrateVerifyAndUp_NewerDatabase_ExitOneNamingBothVersions()
    {
        PrepareDatabase(Newer);

        var (verifyExit, verifyOutput) = await RunAsync("migrate", "verify");
        var (upExit, upOutput) = await RunAsync("migrate", "up");

        Assert.Equal(1, verifyExit);
        Assert.Contains("schema version 4", verifyOutput);
        Assert.Contains("(version 3)", verifyOutput);
        Assert.Equal(1, upExit);
        Assert.Contains("newer than this binary", upOutput);
    }

    [Theory]
    [InlineData(Drift, "edited")]
    [InlineData(Newer, "newer than this binary knows (version 3)")]
    public async Task Serve_SchemaDriftedOrNewer_RefusesToStart(string change, string expected)
    {
        PrepareDatabase(change);

        var (exitCode, output) = await TradeStoreProcess.RunAsync(
            ["serve", "--data", _work.Path, "--urls", $"http://127.0.0.1:{FreePort.Next()}"], _work.Path);

        Assert.Equal(1, exitCode);
        Assert.Contains(expected, output);
        Assert.DoesNotContain("serving", output);
    }

    [Fact]
    public async Task Serve_AutoMigrateOffWithPendingMigrations_RefusesAndNamesTheCommand()
    {
        var (exitCode, output) = await TradeStoreProcess.RunAsync(
            ["serve", "--data", _work.Path, "--urls", $"http://127.0.0.1:{FreePort.Next()}"], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__STORAGE__AUTOMIGRATE"] = "false" });

        Assert.Equal(1, exitCode);
        Assert.Contains("tradestore migrate up", output);
        Assert.Contains("Storage:AutoMigrate is false", output);
        Assert.DoesNotContain("trade_events", TablesOfDatabase());
    }

    /// <summary>
    /// verify never migrates, and says so: it used to blame "Storage:AutoMigrate is false" also with AutoMigrate on
    /// (the default here), which sent the operator to a setting that was already right.
    /// </summary>
    [Fact]
    public async Task Verify_PendingMigrationsWithAutoMigrateOn_SaysVerifyNeverMigrates()
    {
        PrepareDatabase();
        var (downExit, downOutput) = await RunAsync("migrate", "down", "--to", "0", "--yes");
        Assert.True(downExit == 0, downOutput);

        var (exitCode, output) = await RunAsync("verify");

        Assert.True(exitCode == 1, output);
        Assert.Contains("'tradestore verify' only reads and never applies them", output);
        Assert.Contains("tradestore migrate up", output);
        Assert.DoesNotContain("AutoMigrate is false", output);
        Assert.DoesNotContain("trade_events", TablesOfDatabase());
    }

    /// <summary>A negative --to is refused for up and down alike, before any store is opened; up used to suggest 'migrate down --to -1', which down refused.</summary>
    [Theory]
    [InlineData("up")]
    [InlineData("down")]
    public async Task Migrate_NegativeTo_ExitsTwoSayingZeroOrMore(string direction)
    {
        var (exitCode, output) = await RunAsync(["migrate", direction, "--to", "-1", .. direction == "down" ? new[] { "--yes" } : []]);

        Assert.True(exitCode == 2, output);
        Assert.Contains("--to must be 0 or more", output);
        Assert.DoesNotContain("migrate down --to -1", output);
        Assert.False(File.Exists(_work.DatabasePath), "no store was opened");
    }

    /// <summary>
    /// A --to beyond the versions this binary knows: up opened DuckDB read-write before planning, so the refusal left an
    /// empty tradestore.duckdb behind (and created a missing data directory for it).
    /// </summary>
    [Fact]
    public async Task MigrateUp_ToBeyondTheKnownVersions_ExitsTwoAndCreatesNoDatabase()
    {
        var fresh = Path.Combine(_work.Path, "fresh");

        var (inFresh, freshOutput) = await TradeStoreProcess.RunAsync(["migrate", "up", "--to", "999", "--data", fresh], _work.Path);
        var (inEmpty, emptyOutput) = await RunAsync("migrate", "up", "--to", "999");

        Assert.True(inFresh == 2, freshOutput);
        Assert.Contains("cannot migrate up to version 999: this binary knows versions up to", freshOutput, StringComparison.Ordinal);
        Assert.False(Directory.Exists(fresh));
        Assert.True(inEmpty == 2, emptyOutput);
        Assert.False(File.Exists(_work.DatabasePath));
    }

    [Fact]
    public async Task MigrateUp_ClickHouseConfigured_MigratesBothStoresAndSecondRunIsNoOp()
    {
        var database = $"cli_{Guid.NewGuid():N}";

        var (exitCode, output) = await RunWithClickHouseAsync(database, "migrate", "up");
        var (againExit, againOutput) = await RunWithClickHouseAsync(database, "migrate", "up");
        var (statusExit, statusOutput) = await RunWithClickHouseAsync(database, "migrate", "status", "--target", "clickhouse");
        var (toExit, toOutput) = await RunWithClickHouseAsync(database, "migrate", "down", "--to", "0", "--yes");
        var (downExit, downOutput) = await RunWithClickHouseAsync(database, "migrate", "down", "--to", "0", "--yes", "--target", "clickhouse");

        Assert.True(exitCode == 0, output);
        Assert.Matches(@"duckdb .*: applied 0001_initial", output);
        Assert.Matches($@"clickhouse .*/{database}: applied 0001_initial", output);
        Assert.Equal(0, againExit);
        Assert.Equal(2, againOutput.Split("nothing to apply").Length - 1);
        Assert.Equal(0, statusExit);
        Assert.DoesNotContain("duckdb", statusOutput);
        Assert.Matches(@"0001\s+initial\s+applied", statusOutput);
        Assert.Equal(2, toExit);
        Assert.Contains("--target", toOutput);
        Assert.True(downExit == 0, downOutput);
        Assert.Contains("trade_events", TablesOfDatabase());
    }

    [Fact]
    public async Task MigrateTargetClickHouse_NotConfigured_ExitsTwo()
    {
        var (exitCode, output) = await RunAsync("migrate", "status", "--target", "clickhouse");

        Assert.Equal(2, exitCode);
        Assert.Contains("ClickHouse:Url", output);
    }

    [Fact]
    public async Task MigrateHelp_EverySubcommand_DocumentsDefaultTarget()
    {
        var (exitCode, output) = await RunAsync("migrate", "--help");

        Assert.Equal(0, exitCode);
        Assert.Contains("ClickHouse:Url", output);
        foreach (var sub in new[] { "status", "up", "down", "verify" })
        {
            var (subExit, subOutput) = await RunAsync("migrate", sub, "--help");
            Assert.Equal(0, subExit);
            Assert.Contains("--target", subOutput);
        }
    }
}
