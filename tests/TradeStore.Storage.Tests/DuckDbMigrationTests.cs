using TradeStore.Core.Migrations;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>The migration runner against real DuckDB files.</summary>
public sealed class DuckDbMigrationTests : IDisposable
{
    private readonly TempDirectory _work = new("migrations");
    private readonly DuckDbDatabase _database;

    public DuckDbMigrationTests()
    {
        _database = DuckDbDatabase.Open(_work.DatabasePath);
    }

    public void Dispose()
    {
        _database.Dispose();
        _work.Dispose();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The embedded migrations plus extra ones, as a newer (or broken) binary would have them.</summary>
    private static MigrationSet WithExtra(params Migration[] extra) => MigrationSet.From(DuckDbSchema.Migrations.Migrations.Concat(extra));

    private static MigrationSet WithEditedInitial(string edit)
    {
        var initial = DuckDbSchema.Migrations.Migrations[0];
        return MigrationSet.From([new Migration(initial.Version, initial.Name, initial.UpSql + edit, initial.DownSql), .. DuckDbSchema.Migrations.Migrations.Skip(1)]);
    }

    private static readonly string[] AllIds = ["0001_initial", "0002_deferred_trade_state", "0003_journal_log"];

    private static int Latest => DuckDbSchema.Migrations.Migrations[^1].Version;

    private int CurrentVersion() => DuckDbSchema.CreateRunner(_database).StatusAsync(Ct).GetAwaiter().GetResult().CurrentVersion;

    [Fact]
    public async Task MigrateToLatest_EmptyDatabase_CreatesSchemaAndRecordsChecksum()
    {
        var steps = DuckDbSchema.MigrateToLatest(_database);

        Assert.Equal(AllIds, steps.Select(s => s.Migration.Id));
        Assert.Equal(["schema_migrations", "sync_checkpoints", "trade_events", "trade_state"], DuckDbCatalog.Tables(_database));
        var status = await DuckDbSchema.CreateRunner(_database).StatusAsync(Ct);
        Assert.Equal(AllIds.Length, status.Entries.Count);
        var row = status.Entries[0].Applied!;
        Assert.Equal(DuckDbSchema.Migrations.Migrations[0].Checksum, row.Checksum);
        Assert.Equal("initial", row.Name);
        Assert.True(row.Duration >= TimeSpan.Zero);
        Assert.True(status.IsCurrent);
    }

    [Fact]
    public void MigrateToLatest_Twice_SecondRunsNothingAndChangesNothing()
    {
        DuckDbSchema.MigrateToLatest(_database);
        var before = DuckDbCatalog.Dump(_database);

        var steps = DuckDbSchema.MigrateToLatest(_database);

        Assert.Empty(steps);
        Assert.Equal(before, DuckDbCatalog.Dump(_database));
    }

    [Fact]
    public async Task UpDownToZeroUp_AnyDatabase_LeavesIdenticalCatalog()
    {
        var runner = DuckDbSchema.CreateRunner(_database);
        await runner.UpAsync(cancellationToken: Ct);
        var first = DuckDbCatalog.Dump(_database);

        var reverted = await runner.DownAsync(0, cancellationToken: Ct);
        Assert.Equal(AllIds.Reverse(), reverted.Select(s => s.Migration.Id));
        Assert.Equal(["schema_migrations"], DuckDbCatalog.Tables(_database));
        Assert.Equal(0, CurrentVersion());

        await runner.UpAsync(cancellationToken: Ct);

        Assert.Contains("trade_events", first);
        Assert.Contains("current_trade_state", first);
        Assert.Equal(first, DuckDbCatalog.Dump(_database));
        Assert.Equal(Latest, CurrentVersion());
    }

    [Fact]
    public async Task Up_SecondMigrationFails_VersionAndSchemaUnchanged()
    {
        DuckDbSchema.MigrateToLatest(_database);
        var before = DuckDbCatalog.Dump(_database);
        // The first statement succeeds, the second fails: the transaction must take the first one back too.
        var broken = WithExtra(new Migration(Latest + 1, "broken", "CREATE TABLE extra (x INTEGER);\nALTER TABLE trade_events ADD COLUMN note VARCHAR;\nINSERT INTO no_such_table VALUES (1);", "DROP TABLE extra;"));

        var ex = await Assert.ThrowsAsync<MigrationException>(() => DuckDbSchema.CreateRunner(_database, broken).UpAsync(cancellationToken: Ct));

        Assert.Equal(MigrationErrorKind.Failed, ex.Kind);
        Assert.Contains($"{Latest + 1:D4}_broken", ex.Message);
        Assert.Contains("no_such_table", ex.Message);
        Assert.Contains($"unchanged at version {Latest}", ex.Message);
        Assert.Equal(Latest, CurrentVersion());
        Assert.Equal(before, DuckDbCatalog.Dump(_database));
    }

    [Fact]
    public async Task Up_FailureInFirstMigration_LeavesEmptyDatabase()
    {
        var broken = MigrationSet.From([new Migration(1, "broken", "CREATE TABLE a (x INTEGER);\nCREATE TABLE a (x INTEGER);", "DROP TABLE a;")]);

        var ex = await Assert.ThrowsAsync<MigrationException>(() => DuckDbSchema.CreateRunner(_database, broken).UpAsync(cancellationToken: Ct));

        Assert.Equal(MigrationErrorKind.Failed, ex.Kind);
        Assert.Equal(["schema_migrations"], DuckDbCatalog.Tables(_database));
        Assert.Equal(0, CurrentVersion());
    }

    [Fact]
    public async Task Status_EditedScript_ReportsDriftAndUpRefuses()
    {
        DuckDbSchema.MigrateToLatest(_database);
        var edited = WithEditedInitial("\n-- an innocent-looking comment\n");
        var runner = DuckDbSchema.CreateRunner(_database, edited);

        var status = await runner.StatusAsync(Ct);

        Assert.Equal(1, Assert.Single(status.Drifted).Version);
        Assert.Contains("0001_initial", Assert.Single(status.Problems));
        Assert.Equal(MigrationErrorKind.Drift, (await Assert.ThrowsAsync<MigrationException>(() => runner.UpAsync(cancellationToken: Ct))).Kind);
        Assert.Equal(MigrationErrorKind.Drift, (await Assert.ThrowsAsync<MigrationException>(() => runner.DownAsync(0, cancellationToken: Ct))).Kind);
        Assert.Contains("trade_events", DuckDbCatalog.Tables(_database));
    }

    [Fact]
    public void MigrateToLatest_RecordedChecksumDiffers_RefusesWithDrift()
    {
        DuckDbSchema.MigrateToLatest(_database);
        DuckDbCatalog.Execute(_database, $"UPDATE schema_migrations SET checksum = '{new string('a', 64)}'");

        var ex = Assert.Throws<MigrationException>(() => DuckDbSchema.MigrateToLatest(_database));

        Assert.Equal(MigrationErrorKind.Drift, ex.Kind);
        Assert.Contains("edited", ex.Message);
        Assert.Equal(MigrationErrorKind.Drift, Assert.Throws<MigrationException>(() => DuckDbSchema.RequireLatest(_database, PendingMigrationAdvice.AutoMigrateOff)).Kind);
    }

    [Fact]
    public async Task MigrateToLatest_DatabaseNewerThanBinary_RefusedNamingBothVersions()
    {
        var newer = WithExtra(new Migration(Latest + 1, "future_column", "ALTER TABLE trade_events ADD COLUMN future VARCHAR;", "-- Drops the future column.\nALTER TABLE trade_events DROP COLUMN future;"));
        await DuckDbSchema.CreateRunner(_database, newer).UpAsync(cancellationToken: Ct);
        var before = DuckDbCatalog.Dump(_database);

        var ex = Assert.Throws<MigrationException>(() => DuckDbSchema.MigrateToLatest(_database));

        Assert.Equal(MigrationErrorKind.DatabaseNewer, ex.Kind);
        Assert.Contains($"schema version {Latest + 1}", ex.Message);
        Assert.Contains($"version {Latest}", ex.Message);
        Assert.Contains($"{Latest + 1:D4}_future_column", ex.Message);
        Assert.Equal(MigrationErrorKind.DatabaseNewer, Assert.Throws<MigrationException>(() => DuckDbSchema.RequireLatest(_database, PendingMigrationAdvice.AutoMigrateOff)).Kind);
        Assert.Equal(before, DuckDbCatalog.Dump(_database));
    }

    [Fact]
    public void RequireLatest_Pending_RefusesAndTellsToRunMigrateUp()
    {
        var ex = Assert.Throws<MigrationException>(() => DuckDbSchema.RequireLatest(_database, PendingMigrationAdvice.AutoMigrateOff));

        Assert.Equal(MigrationErrorKind.Pending, ex.Kind);
        Assert.Contains("tradestore migrate up", ex.Message);
        Assert.Contains("0001_initial", ex.Message);
        Assert.Empty(DuckDbCatalog.Tables(_database));
    }

    /// <summary>The pending-migrations message gives the caller's reason: verify never migrates, whatever Storage:AutoMigrate says.</summary>
    [Fact]
    public void RequireLatest_PendingForAReadOnlyCommand_SaysItNeverMigratesNotThatAutoMigrateIsOff()
    {
        var fromVerify = Assert.Throws<MigrationException>(() => DuckDbSchema.RequireLatest(_database, PendingMigrationAdvice.ReadOnlyCommand("verify")));
        var fromStartUp = Assert.Throws<MigrationException>(() => DuckDbSchema.RequireLatest(_database, PendingMigrationAdvice.AutoMigrateOff));

        Assert.Equal(MigrationErrorKind.Pending, fromVerify.Kind);
        Assert.Contains("'tradestore verify' only reads and never applies them", fromVerify.Message);
        Assert.DoesNotContain("AutoMigrate is false", fromVerify.Message);
        Assert.Contains("Storage:AutoMigrate is false", fromStartUp.Message);
        Assert.Contains("0001_initial", fromVerify.Message);
    }

    [Fact]
    public async Task PlanUp_DryRun_ChangesNothing()
    {
        var before = DuckDbCatalog.Dump(_database);
        var runner = DuckDbSchema.CreateRunner(_database);

        var plan = await runner.PlanUpAsync(cancellationToken: Ct);

        Assert.Equal(AllIds, plan.Steps.Select(s => s.Id));
        Assert.Contains("CREATE TABLE trade_events", plan.Sql(plan.Steps[0]));
        Assert.Equal(before, DuckDbCatalog.Dump(_database));
        Assert.Empty(DuckDbCatalog.Tables(_database));
    }

    [Fact]
    public async Task UpTo_ThenUp_AppliesTheRestInOrder()
    {
        var extra = WithExtra(new Migration(Latest + 1, "extra", "CREATE TABLE extra (x INTEGER);", "DROP TABLE extra;"));
        var runner = DuckDbSchema.CreateRunner(_database, extra);

        Assert.Equal([1], (await runner.UpAsync(1, cancellationToken: Ct)).Select(s => s.Migration.Version));
        Assert.Equal(1, CurrentVersion());
        Assert.Equal(Enumerable.Range(2, Latest), (await runner.UpAsync(cancellationToken: Ct)).Select(s => s.Migration.Version));
        Assert.Contains("extra", DuckDbCatalog.Tables(_database));

        Assert.Equal([Latest + 1], (await runner.DownAsync(Latest, cancellationToken: Ct)).Select(s => s.Migration.Version));
        Assert.DoesNotContain("extra", DuckDbCatalog.Tables(_database));
        Assert.Equal(Latest, CurrentVersion());
    }
}
