using TradeStore.Server;
using TradeStore.Server.Configuration;
using TradeStore.Storage;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>Schema migrations at <c>serve</c> start-up: DuckDB before listening, ClickHouse in the background without blocking.</summary>
public sealed class ServeMigrationTests : IDisposable
{
    private const int SigTerm = 15;
    private readonly TempDirectory _work = new("serve-migrate");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task HostBuild_AutoMigrateOffAndSchemaCurrent_Starts()
    {
        using (var database = DuckDbDatabase.Open(_work.DatabasePath))
        {
            DuckDbSchema.MigrateToLatest(database);
        }

        var configuration = TradeStoreConfiguration.Build(new ConfigurationInputs
        {
            BaseDirectory = _work.Path,
            WorkingDirectory = _work.Path,
            Environment = new Dictionary<string, string>
            {
                ["TRADESTORE__STORAGE__DATADIRECTORY"] = _work.Path,
                ["TRADESTORE__STORAGE__AUTOMIGRATE"] = "false",
            },
        });

        await using var app = TradeStoreHost.Build(configuration);

        // Resolving it hands the open database to the container, which closes it on dispose.
        Assert.Equal(_work.DatabasePath, app.Services.GetService(typeof(DuckDbDatabase)) is DuckDbDatabase db ? db.Path : null);
    }

    [Fact]
    public async Task Serve_FreshDirectory_MigratesBeforeListening()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path);
        await child.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));

        await child.WaitForOutputAsync("Applied schema migration 0001_initial", TimeSpan.FromSeconds(60));
        child.Signal(SigTerm);
        Assert.Equal(0, await child.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Serve_ClickHouseDown_StartsAndLogsThatTheSchemaWaits()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__CLICKHOUSE__URL"] = $"http://127.0.0.1:{FreePort.Next()}" });

        await child.WaitUntilAnsweringAsync($"{url}/health/live", TimeSpan.FromSeconds(60));
        await Eventually.TrueAsync(() => child.Output.Contains("schema not migrated at start-up", StringComparison.Ordinal), describe: () => $"no deferred-migration warning in:\n{child.Output}");

        child.Signal(SigTerm);
        Assert.Equal(0, await child.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Serve_ClickHouseUp_MigratesItInTheBackground()
    {
        var clickHouse = TestServers.ClickHouse;
        var database = $"serve_{Guid.NewGuid():N}";
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__CLICKHOUSE__URL"] = clickHouse, ["TRADESTORE__CLICKHOUSE__DATABASE"] = database });
        using var http = new HttpClient();
        try
        {
            await child.WaitUntilAnsweringAsync($"{url}/health/live", TimeSpan.FromSeconds(60));
            await Eventually.TrueAsync(() => child.Output.Contains($"/{database} is at schema version 1", StringComparison.Ordinal), describe: () => $"no ClickHouse schema log line in:\n{child.Output}");

            var tables = await http.PostAsync(clickHouse, new StringContent($"SELECT count() FROM system.tables WHERE database = '{database}'"), TestContext.Current.CancellationToken);
            Assert.Equal("3", (await tables.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).Trim());
            child.Signal(SigTerm);
            Assert.Equal(0, await child.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            using var _ = await http.PostAsync(clickHouse, new StringContent($"DROP DATABASE IF EXISTS {database}"), CancellationToken.None);
        }
    }
}
