using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TradeStore.Server.Cluster;

namespace TradeStore.Cluster.Tests;

/// <summary><c>GET /v1/cluster</c> when etcd does not answer.</summary>
public sealed class ClusterEndpointTests
{
    /// <summary>
    /// A paused etcd accepts the connection and never answers. The problem must say which etcd did not answer in how long:
    /// the cause alone was a bare "The operation was canceled." (seen with <c>kill -STOP</c> on etcd during an audit).
    /// </summary>
    [Fact]
    public async Task Get_EtcdAcceptsButNeverAnswers_ProblemNamesEtcdAndTheTimeout()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var etcd = $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}";
        using var store = new EtcdClusterStore(new ClusterOptions { Etcd = etcd, Node = "test", AdvertiseUrl = "http://test:1" });
        var context = new DefaultHttpContext { RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider() };
        context.Response.Body = new MemoryStream();

        var result = await ClusterEndpoint.GetAsync(context, store);
        await result.ExecuteAsync(context);

        Assert.Equal(503, context.Response.StatusCode);
        var body = System.Text.Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray());
        Assert.Contains("urn:tradestore:problem:etcd-unavailable", body, StringComparison.Ordinal);
        Assert.Contains($"etcd {etcd} did not answer within 2 s", body, StringComparison.Ordinal);
    }
}
