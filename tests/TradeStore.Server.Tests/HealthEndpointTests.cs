using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.TestHost;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests;

public sealed class HealthEndpointTests : IDisposable
{
    private readonly TempDirectory _data = new("health");

    public void Dispose() => _data.Dispose();

    [Fact]
    public async Task Live_EmbeddedDefault_Healthy()
    {
        await using var app = await TestHostFactory.StartAsync(_data.Path);
        using var client = app.GetTestClient();

        using var response = await client.GetAsync("/health/live", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("healthy", (await ReadJson(response)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Ready_EmbeddedDefault_DuckDbHealthyOthersDisabled()
    {
        await using var app = await TestHostFactory.StartAsync(_data.Path);
        using var client = app.GetTestClient();

        using var response = await client.GetAsync("/health/ready", TestContext.Current.CancellationToken);
        var body = await ReadJson(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("healthy", body.GetProperty("status").GetString());
        Assert.Equal("healthy", Dependency(body, "duckdb"));
        Assert.Equal("disabled", Dependency(body, "redis"));
        Assert.Equal("disabled", Dependency(body, "clickhouse"));
        Assert.True(File.Exists(_data.DatabasePath), "serve creates DIR/tradestore.duckdb");
    }

    [Fact]
    public async Task Ready_ConfiguredServersNotListening_DegradedNotCrashed()
    {
        using var redisPort = new RefusingPort();
        using var clickHousePort = new RefusingPort();
        var deadRedis = $"127.0.0.1:{redisPort.Port}";
        var deadClickHouse = $"http://127.0.0.1:{clickHousePort.Port}";
        await using var app = await TestHostFactory.StartAsync(_data.Path, new()
        {
            ["TRADESTORE__REDIS__CONNECTION"] = deadRedis,
            ["TRADESTORE__CLICKHOUSE__URL"] = deadClickHouse,
        });
        using var client = app.GetTestClient();

        using var response = await client.GetAsync("/health/ready", TestContext.Current.CancellationToken);
        var body = await ReadJson(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("degraded", body.GetProperty("status").GetString());
        Assert.Equal("healthy", Dependency(body, "duckdb"));
        Assert.Equal("degraded", Dependency(body, "redis"));
        Assert.Equal("degraded", Dependency(body, "clickhouse"));
    }

    [Fact]
    public async Task Ready_RealRedisAndClickHouse_AllHealthy()
    {
        var redis = TestServers.Redis;
        var clickHouse = TestServers.ClickHouse;
        await using var app = await TestHostFactory.StartAsync(_data.Path, new()
        {
            ["TRADESTORE__REDIS__CONNECTION"] = redis,
            ["TRADESTORE__CLICKHOUSE__URL"] = clickHouse,
            // Its own database: the sync pauses (degraded) on a ClickHouse database filled from another journal.
            ["TRADESTORE__CLICKHOUSE__DATABASE"] = $"health_{Guid.NewGuid():N}",
        });
        using var client = app.GetTestClient();

        // Asked again for a while, as a readiness probe does: under CI load the first PING can miss Redis:HealthTimeout
        // while the connection is still being made (CI at e76aeff: redis "degraded" at the first ask).
        var last = "";
        await Eventually.TrueAsync(async () =>
        {
            using var response = await client.GetAsync("/health/ready", TestContext.Current.CancellationToken);
            last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}";
            var body = await ReadJson(response);
            return response.StatusCode == HttpStatusCode.OK && body.GetProperty("status").GetString() == "healthy"
                && Dependency(body, "redis") == "healthy" && Dependency(body, "clickhouse") == "healthy";
        }, TimeSpan.FromSeconds(30), () => $"not healthy within 30 s: {last}");
    }

    private static string? Dependency(JsonElement body, string name) =>
        body.GetProperty("dependencies").GetProperty(name).GetProperty("status").GetString();

    private static async Task<JsonElement> ReadJson(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
}
