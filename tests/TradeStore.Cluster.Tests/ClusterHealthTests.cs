using System.Net;
using System.Text.Json;
using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>Readiness of a cluster node names its leadership: healthy while it leads or follows, degraded (still ready) without a leader.</summary>
public sealed class ClusterHealthTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _prefix = $"/health-{Guid.NewGuid():N}/";

    [Fact]
    public async Task Readiness_LeaderHealthyAndANodeWithoutEtcdDegradedButStillReady()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await using var leader = await NodeProcess.StartAsync("a", _prefix);
        await Eventually.MatchAsync(() => leader.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        // Nothing listens on this port: the node never reaches etcd, so it knows no leader.
        await using var cutOff = await NodeProcess.StartAsync("b", _prefix,
            new Dictionary<string, string> { ["TRADESTORE__CLUSTER__ETCD"] = $"http://127.0.0.1:{FreePort.Next()}" });

        var (leaderCode, leaderCluster) = await ReadinessAsync(http, leader.Url);
        var (cutOffCode, cutOffCluster) = await ReadinessAsync(http, cutOff.Url);

        Assert.Equal(HttpStatusCode.OK, leaderCode);
        Assert.Equal("healthy", leaderCluster.GetProperty("status").GetString());
        Assert.Contains("a leads", leaderCluster.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, cutOffCode);
        Assert.Equal("degraded", cutOffCluster.GetProperty("status").GetString());
        Assert.Contains("no leader", cutOffCluster.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    private static async Task<(HttpStatusCode Code, JsonElement Cluster)> ReadinessAsync(HttpClient http, string url)
    {
        using var answer = await http.GetAsync($"{url}/health/ready", TestContext.Current.CancellationToken);
        var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        return (answer.StatusCode, body.GetProperty("dependencies").GetProperty("cluster").Clone());
    }
}
