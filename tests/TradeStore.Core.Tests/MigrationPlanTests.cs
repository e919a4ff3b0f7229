using TradeStore.Core.Migrations;

namespace TradeStore.Core.Tests;

/// <summary>The store-agnostic part of migrations: script sets, checksums, status, drift and plans. No database needed.</summary>
public sealed class MigrationPlanTests
{
    private static readonly MigrationSet Three = MigrationSet.FromScripts(new Dictionary<string, string>
    {
        ["0001_initial.up.sql"] = "CREATE TABLE a (x INT);",
        ["0001_initial.down.sql"] = "-- Drops table a.\nDROP TABLE a;",
        ["0002_add_b.up.sql"] = "CREATE TABLE b (x INT);",
        ["0002_add_b.down.sql"] = "-- Drops table b.\nDROP TABLE b;",
        ["0003_add_c.up.sql"] = "CREATE TABLE c (x INT);",
        ["0003_add_c.down.sql"] = "DROP TABLE c;",
    });

    private static AppliedMigration Applied(Migration migration, string? checksum = null) =>
        new(migration.Version, migration.Name, checksum ?? migration.Checksum, DateTimeOffset.UnixEpoch, TimeSpan.FromMilliseconds(1));

    [Fact]
    public void FromScripts_NamedPairs_OrderedByVersionWithSha256OfUpScript()
    {
        Assert.Equal([1, 2, 3], Three.Migrations.Select(m => m.Version));
        Assert.Equal("0002_add_b", Three.Migrations[1].Id);
        Assert.Equal(3, Three.LatestVersion);
        // sha256("CREATE TABLE a (x INT);")
        Assert.Equal(Migration.ComputeChecksum("CREATE TABLE a (x INT);"), Three.Migrations[0].Checksum);
        Assert.Equal(64, Three.Migrations[0].Checksum.Length);
        Assert.Equal("Drops table a.", Three.Migrations[0].DownDescription);
    }

    [Fact]
    public void ComputeChecksum_KnownInput_MatchesSha256()
    {
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Migration.ComputeChecksum("abc"));
    }

    [Fact]
    public void ComputeChecksum_CrLfCheckout_SameAsLf()
    {
        Assert.Equal(Migration.ComputeChecksum("a;\nb;\n"), Migration.ComputeChecksum("a;\r\nb;\r\n"));
        Assert.NotEqual(Migration.ComputeChecksum("a;\nb;\n"), Migration.ComputeChecksum("a;\nb; \n"));
    }

    [Theory]
    [InlineData("0001_initial.up.sql", "0001_x.sql", "not named")]
    [InlineData("0001_initial.up.sql", "1_x.up.sql", "not named")]
    [InlineData("0001_initial.up.sql", "0001_Initial.down.sql", "not named")]
    [InlineData("0001_initial.up.sql", "0001_other.down.sql", "no up script")]
    public void FromScripts_BadNames_RejectedNamingTheFile(string first, string second, string expected)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => MigrationSet.FromScripts(new Dictionary<string, string> { [first] = "", [second] = "" }));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void FromScripts_MissingDownScript_Rejected()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => MigrationSet.FromScripts(new Dictionary<string, string> { ["0001_initial.up.sql"] = "" }));
        Assert.Contains("0001_initial.down.sql", ex.Message);
    }

    [Fact]
    public void FromScripts_GapInVersions_Rejected()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => MigrationSet.FromScripts(new Dictionary<string, string>
        {
            ["0001_a.up.sql"] = "", ["0001_a.down.sql"] = "", ["0003_c.up.sql"] = "", ["0003_c.down.sql"] = "",
        }));
        Assert.Contains("without gaps", ex.Message);
    }

    [Fact]
    public void Compute_EmptyStore_AllPendingAtVersionZero()
    {
        var status = MigrationStatus.Compute("db", Three, []);

        Assert.Equal(0, status.CurrentVersion);
        Assert.Equal(3, status.Pending.Count);
        Assert.Empty(status.Problems);
        Assert.False(status.IsCurrent);
    }

    [Fact]
    public void Compute_AllAppliedWithSameChecksums_Current()
    {
        var status = MigrationStatus.Compute("db", Three, Three.Migrations.Select(m => Applied(m)));

        Assert.True(status.IsCurrent);
        Assert.Equal(3, status.CurrentVersion);
        Assert.True(status.PlanUp().IsEmpty);
    }

    [Fact]
    public void Compute_EditedScript_ReportsDriftNamingBothChecksums()
    {
        var status = MigrationStatus.Compute("db", Three, [Applied(Three.Migrations[0]), Applied(Three.Migrations[1], checksum: new string('0', 64))]);

        var drifted = Assert.Single(status.Drifted);
        Assert.Equal(2, drifted.Version);
        var problem = Assert.Single(status.Problems);
        Assert.Contains("0002_add_b", problem);
        Assert.Contains(new string('0', 64), problem);
        Assert.Contains(Three.Migrations[1].Checksum, problem);
        Assert.Equal(MigrationErrorKind.Drift, Assert.Throws<MigrationException>(() => status.PlanUp()).Kind);
        Assert.Equal(MigrationErrorKind.Drift, Assert.Throws<MigrationException>(() => status.PlanDown(0)).Kind);
    }

    [Fact]
    public void Compute_StoreNewerThanBinary_RefusedNamingBothVersions()
    {
        var applied = Three.Migrations.Select(m => Applied(m)).Append(new AppliedMigration(4, "future", new string('f', 64), DateTimeOffset.UnixEpoch, TimeSpan.Zero));

        var status = MigrationStatus.Compute("db", Three, applied);

        Assert.True(status.IsNewerThanBinary);
        Assert.Equal(4, status.CurrentVersion);
        Assert.Equal(MigrationState.Unknown, status.Entries[^1].State);
        var ex = Assert.Throws<MigrationException>(() => status.PlanUp());
        Assert.Equal(MigrationErrorKind.DatabaseNewer, ex.Kind);
        Assert.Contains("version 4", ex.Message);
        Assert.Contains("version 3", ex.Message);
    }

    [Fact]
    public void Compute_VersionMissingBelowCurrent_ReportedAsProblem()
    {
        var status = MigrationStatus.Compute("db", Three, [Applied(Three.Migrations[0]), Applied(Three.Migrations[2])]);

        Assert.Equal(2, Assert.Single(status.Missing).Version);
        Assert.Contains("0002_add_b", Assert.Single(status.Problems));
        Assert.Throws<MigrationException>(() => status.PlanUp());
    }

    [Fact]
    public void PlanUp_ToVersion_StopsThere()
    {
        var status = MigrationStatus.Compute("db", Three, [Applied(Three.Migrations[0])]);

        var plan = status.PlanUp(2);

        Assert.Equal(MigrationDirection.Up, plan.Direction);
        Assert.Equal(1, plan.FromVersion);
        Assert.Equal(2, plan.ToVersion);
        Assert.Equal([2], plan.Steps.Select(s => s.Version));
        Assert.Equal("CREATE TABLE b (x INT);", plan.Sql(plan.Steps[0]));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(0)]
    public void PlanUp_ImpossibleTarget_InvalidRequest(int to)
    {
        var status = MigrationStatus.Compute("db", Three, [Applied(Three.Migrations[0])]);

        Assert.Equal(MigrationErrorKind.InvalidRequest, Assert.Throws<MigrationException>(() => status.PlanUp(to)).Kind);
    }

    [Fact]
    public void PlanDown_ToZero_RevertsNewestFirstWithDownScripts()
    {
        var status = MigrationStatus.Compute("db", Three, Three.Migrations.Select(m => Applied(m)));

        var plan = status.PlanDown(0);

        Assert.Equal([3, 2, 1], plan.Steps.Select(s => s.Version));
        Assert.Equal("DROP TABLE c;", plan.Sql(plan.Steps[0]));
        Assert.True(status.PlanDown(3).IsEmpty);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(2)]
    public void PlanDown_OutsideZeroToCurrent_InvalidRequest(int to)
    {
        var status = MigrationStatus.Compute("db", Three, [Applied(Three.Migrations[0])]);

        Assert.Equal(MigrationErrorKind.InvalidRequest, Assert.Throws<MigrationException>(() => status.PlanDown(to)).Kind);
    }

    [Fact]
    public void DownDescription_NoComment_SaysSo()
    {
        Assert.Contains("no description", Three.Migrations[2].DownDescription);
    }
}
