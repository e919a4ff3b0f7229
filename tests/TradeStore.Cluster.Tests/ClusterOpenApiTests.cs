using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using TradeStore.Server;
using TradeStore.Server.Configuration;
using TradeStore.TestSupport;
using TradeStore.Tests;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// A cluster node maps more routes than a standalone one (<c>GET /v1/cluster</c>, the replication endpoints); its OpenAPI
/// document describes exactly the routes it maps, and <c>GET /v1/cluster</c>'s real answer has the documented shape.
/// </summary>
public sealed class ClusterOpenApiTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    [Fact]
    public async Task OpenApiDocument_ClusterNode_EveryMappedRouteDocumentedAndClusterStatusAsDocumented()
    {
        using var dir = new TempDirectory("cluster-openapi");
        await using var app = await StartNodeAsync(dir.Path);
        var state = app.Services.GetRequiredService<ClusterState>();
        await Eventually.TrueAsync(() => state.IsLeader, Timeout, "the only node leads");
        using var client = app.GetTestClient();

        var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json", Ct)).RootElement;
        var mapped = OpenApiRoutes.Mapped(app);
        var documented = OpenApiRoutes.Documented(document);
        using var status = await client.GetAsync("/v1/cluster", Ct);
        var answer = JsonDocument.Parse(await status.Content.ReadAsStringAsync(Ct)).RootElement;
        using var unknownParameter = await client.GetAsync("/v1/cluster?foo=1", Ct);

        Assert.Contains("GET /v1/cluster", mapped);
        Assert.Contains("POST /v1/replication/stream", mapped);
        Assert.Contains("POST /v1/replication/acks", mapped);
        Assert.Empty(mapped.Except(documented)); // mapped but not documented
        Assert.Empty(documented.Except(mapped)); // documented but not mapped

        var schemas = document.GetProperty("components").GetProperty("schemas");
        var statusSchema = schemas.GetProperty("ClusterStatus");
        var nodeSchema = statusSchema.GetProperty("properties").GetProperty("nodes").GetProperty("items");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, unknownParameter.StatusCode); // as on every other endpoint: named, not ignored
        Assert.Contains("\"field\":\"foo\"", await unknownParameter.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(Names(statusSchema.GetProperty("required")), answer.EnumerateObject().Select(p => p.Name).Order());
        var node = Assert.Single(answer.GetProperty("nodes").EnumerateArray());
        Assert.Equal(Names(nodeSchema.GetProperty("required")), node.EnumerateObject().Select(p => p.Name).Order());
        Assert.Contains(node.GetProperty("role").GetString(), Names(nodeSchema.GetProperty("properties").GetProperty("role").GetProperty("enum")));

        var clusterGet = document.GetProperty("paths").GetProperty("/v1/cluster").GetProperty("get");
        Assert.Equal("#/components/schemas/ClusterStatus",
            clusterGet.GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        Assert.Contains("etcd-unavailable", clusterGet.GetProperty("responses").GetProperty("503").GetProperty("description").GetString(), StringComparison.Ordinal);
        var acks = document.GetProperty("paths").GetProperty("/v1/replication/acks").GetProperty("post");
        Assert.Equal(["incarnation", "node", "term"], acks.GetProperty("parameters").EnumerateArray()
            .Where(p => p.GetProperty("in").GetString() == "query" && p.GetProperty("required").GetBoolean()).Select(p => p.GetProperty("name").GetString()).Order());
        await app.StopAsync(Ct);
    }

    private static IEnumerable<string?> Names(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()).Order();

    private async Task<WebApplication> StartNodeAsync(string directory)
    {
        var configuration = TradeStoreConfiguration.Build(new ConfigurationInputs
        {
            BaseDirectory = directory,
            WorkingDirectory = directory,
            Environment = new Dictionary<string, string>
            {
                ["TRADESTORE__STORAGE__DATADIRECTORY"] = directory,
                ["TRADESTORE__CLUSTER__ETCD"] = TestServers.Etcd,
                ["TRADESTORE__CLUSTER__NODE"] = "a",
                ["TRADESTORE__CLUSTER__ADVERTISEURL"] = "http://a.test:5080",
                ["TRADESTORE__CLUSTER__KEYPREFIX"] = _prefix,
                ["TRADESTORE__CLUSTER__LEASETTL"] = "00:00:05",
            },
        });
        var app = TradeStoreHost.Build(configuration, builder => builder.UseLoopbackTestServer());
        await app.StartAsync(Ct);
        return app;
    }
}
