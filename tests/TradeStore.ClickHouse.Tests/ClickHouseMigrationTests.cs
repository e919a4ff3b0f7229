using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TradeStore.ClickHouse.Migrations;
using TradeStore.Core.Migrations;
using TradeStore.Core.Options;
using TradeStore.TestSupport;

namespace TradeStore.ClickHouse.Tests;

/// <summary>ClickHouse migrations against the real server from scripts/test.sh, each test in its own database.</summary>
public sealed class ClickHouseMigrationTests : IAsyncLifetime
{
    private readonly string _database = $"mig_{Guid.NewGuid():N}";
    private ServiceProvider? _services;
    private ClickHouseClient? _client;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ClickHouseClient Client => _client ??= CreateClient();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.ExecuteAsync($"DROP DATABASE IF EXISTS {_database}", CancellationToken.None);
        }

        _services?.Dispose();
    }

    [Fact]
    public async Task MigrateToLatest_Twice_SecondIsNoOp()
    {
        var first = await ClickHouseSchema.MigrateToLatestAsync(Client, _database, Ct);
        var schema = await DumpAsync();
        var rows = await ScalarAsync("SELECT count() FROM schema_migrations");

        var second = await ClickHouseSchema.MigrateToLatestAsync(Client, _database, Ct);

        Assert.Equal(["0001_initial"], first.Select(s => s.Migration.Id));
        Assert.Null(first[0].Note);
        Assert.Empty(second);
        Assert.Contains("trade_events", schema);
        Assert.Contains("ReplacingMergeTree(version)", schema);
        Assert.Equal(schema, await DumpAsync());
        Assert.Equal(rows, await ScalarAsync("SELECT count() FROM schema_migrations"));
        var status = await ClickHouseSchema.CreateRunner(Client, _database).StatusAsync(Ct);
        Assert.True(status.IsCurrent);
        Assert.Equal(ClickHouseSchema.Migrations.Migrations[0].Checksum, Assert.Single(status.Entries).Applied!.Checksum);
    }

    [Fact]
    public async Task UpScripts_RunTwice_EveryStatementIsIdempotent()
    {
        await ClickHouseSchema.MigrateToLatestAsync(Client, _database, Ct);
        var schema = await DumpAsync();

        foreach (var statement in ClickHouseSchema.Migrations.Migrations.SelectMany(m => ClickHouseSchema.SplitStatements(m.UpSql)))
        {
            await Client.ExecuteAsync(statement, Ct, _database);
        }

        Assert.Equal(schema, await DumpAsync());
    }

    [Fact]
    public async Task Up_InterruptedHalfWay_RerunCompletesIt()
    {
        // As if a run died after the first statement: the table exists but no bookkeeping row does.
        await Client.ExecuteAsync($"CREATE DATABASE {_database}", Ct);
        await Client.ExecuteAsync(ClickHouseSchema.SplitStatements(ClickHouseSchema.Migrations.Migrations[0].UpSql)[0], Ct, _database);

        var steps = await ClickHouseSchema.MigrateToLatestAsync(Client, _database, Ct);

        Assert.Single(steps);
        Assert.Equal("2", await ScalarAsync($"SELECT count() FROM system.tables WHERE database = '{_database}' AND name IN ('trade_events', 'trade_state')"));
    }

    [Fact]
    public async Task Up_HalfThereWithRows_DropsThemAndItsNoteSaysSo()
    {
        // A table of the migration holds rows (say, made by hand or left by a rollback cut short) and its sibling is missing:
        // the runner reverts the migration before applying it, and the operator is told which rows went.
        await Client.ExecuteAsync($"CREATE DATABASE {_database}", Ct);
        var first = ClickHouseSchema.SplitStatements(ClickHouseSchema.Migrations.Migrations[0].UpSql)[0];
        await Client.ExecuteAsync(first, Ct, _database);
        var table = await ScalarAsync($"SELECT name FROM system.tables WHERE database = '{_database}'");
        await Client.ExecuteAsync($"INSERT INTO {table} (trade_id, version) VALUES ('t-1', 1), ('t-2', 1)", Ct, _database);

        var step = Assert.Single(await ClickHouseSchema.MigrateToLatestAsync(Client, _database, Ct));

        Assert.Equal("0", await ScalarAsync($"SELECT count() FROM {table}"));
        Assert.NotNull(step.Note);
        Assert.Contains($"dropped {table} (2 rows)", step.Note);
        Assert.Contains("refills", step.Note);
        Assert.Empty(await ClickHouseSchema.MigrateToLatestAsync(Client, _database, Ct));
    }

    [Fact]
    public async Task DownToZeroThenUp_DropsAndRecreatesSameSchema()
    {
        var runner = ClickHouseSchema.CreateRunner(Client, _database);
        await runner.UpAsync(cancellationToken: Ct);
        var schema = await DumpAsync();
        await Client.ExecuteAsync("INSERT INTO trade_state (trade_id, version) VALUES ('t-1', 1)", Ct, _database);

        var reverted = await runner.DownAsync(0, cancellationToken: Ct);

        Assert.Equal(["0001_initial"], reverted.Select(s => s.Migration.Id));
        Assert.Equal(0, (await runner.StatusAsync(Ct)).CurrentVersion);
        Assert.Equal("0", await ScalarAsync($"SELECT count() FROM system.tables WHERE database = '{_database}' AND name != 'schema_migrations'"));

        await runner.UpAsync(cancellationToken: Ct);

        Assert.Equal(1, (await runner.StatusAsync(Ct)).CurrentVersion);
        Assert.Equal(schema, await DumpAsync());
        Assert.Equal("0", await ScalarAsync("SELECT count() FROM trade_state"));
    }

    [Fact]
    public async Task Status_EditedScript_DriftAndUpRefused()
    {
        await ClickHouseSchema.MigrateToLatestAsync(Client, _database, Ct);
        var initial = ClickHouseSchema.Migrations.Migrations[0];
        var edited = MigrationSet.From([new Migration(1, initial.Name, initial.UpSql.Replace("ORDER BY seq", "ORDER BY (seq, trade_id)", StringComparison.Ordinal), initial.DownSql)]);
        var runner = ClickHouseSchema.CreateRunner(Client, _database, edited);

        var status = await runner.StatusAsync(Ct);

        Assert.Equal(1, Assert.Single(status.Drifted).Version);
        Assert.Equal(MigrationErrorKind.Drift, (await Assert.ThrowsAsync<MigrationException>(() => runner.UpAsync(cancellationToken: Ct))).Kind);
    }

    [Fact]
    public async Task MigrateToLatest_DatabaseNewerThanBinary_Refused()
    {
        var newer = MigrationSet.From(ClickHouseSchema.Migrations.Migrations.Append(
            new Migration(2, "extra", "CREATE TABLE IF NOT EXISTS extra (x Int64) ENGINE = MergeTree ORDER BY x", "DROP TABLE IF EXISTS extra")));
        await ClickHouseSchema.CreateRunner(Client, _database, newer).UpAsync(cancellationToken: Ct);

        var ex = await Assert.ThrowsAsync<MigrationException>(() => ClickHouseSchema.MigrateToLatestAsync(Client, _database, Ct));

        Assert.Equal(MigrationErrorKind.DatabaseNewer, ex.Kind);
        Assert.Contains("schema version 2", ex.Message);
        Assert.Contains("version 1", ex.Message);
    }

    [Fact]
    public async Task Up_StatementFails_NotRecordedAndFixedScriptCompletes()
    {
        var good = "CREATE TABLE IF NOT EXISTS extra (x Int64) ENGINE = MergeTree ORDER BY x";
        var broken = MigrationSet.From(ClickHouseSchema.Migrations.Migrations.Append(
            new Migration(2, "extra", $"{good};\nSELECT no_such_function(1);", "DROP TABLE IF EXISTS extra")));

        var ex = await Assert.ThrowsAsync<MigrationException>(() => ClickHouseSchema.CreateRunner(Client, _database, broken).UpAsync(cancellationToken: Ct));

        Assert.Equal(MigrationErrorKind.Failed, ex.Kind);
        Assert.Contains("0002_extra", ex.Message);
        Assert.Contains("again", ex.Message);
        Assert.Equal(1, (await ClickHouseSchema.CreateRunner(Client, _database).StatusAsync(Ct)).CurrentVersion);

        var fixedSet = MigrationSet.From(ClickHouseSchema.Migrations.Migrations.Append(new Migration(2, "extra", good, "DROP TABLE IF EXISTS extra")));
        var steps = await ClickHouseSchema.CreateRunner(Client, _database, fixedSet).UpAsync(cancellationToken: Ct);

        Assert.Equal([2], steps.Select(s => s.Migration.Version));
    }

    private ClickHouseClient CreateClient()
    {
        var url = TestServers.ClickHouse;
        _services = new ServiceCollection()
            .AddSingleton(Options.Create(new ClickHouseOptions { Url = url, Database = _database }))
            .AddSingleton<ClickHouseClient>()
            .AddHttpClient(ClickHouseClient.HttpClientName).Services
            .BuildServiceProvider();
        return _services.GetRequiredService<ClickHouseClient>();
    }

    private async Task<string> ScalarAsync(string sql) => (await Client.QueryAsync(sql, Ct, _database)).Trim();

    /// <summary>Tables with their full definitions and columns, excluding the bookkeeping rows.</summary>
    private async Task<string> DumpAsync() =>
        await Client.QueryAsync(
            $"SELECT name, engine, create_table_query FROM system.tables WHERE database = '{_database}' ORDER BY name FORMAT TSV", Ct) +
        await Client.QueryAsync(
            $"SELECT table, name, type, default_kind, default_expression FROM system.columns WHERE database = '{_database}' ORDER BY table, name FORMAT TSV", Ct);
}
