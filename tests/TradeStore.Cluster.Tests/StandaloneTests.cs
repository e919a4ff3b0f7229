using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using TradeStore.Server;
using TradeStore.Server.Configuration;
using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>Without <c>Cluster:Etcd</c> TradeStore runs standalone exactly as before: no election, no gate, no cluster endpoint.</summary>
public sealed class StandaloneTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Host_NoClusterConfigured_AcknowledgesWritesItselfAndHasNoClusterEndpoint()
    {
        using var dir = new TempDirectory("standalone");
        var configuration = TradeStoreConfiguration.Build(new ConfigurationInputs
        {
            BaseDirectory = dir.Path,
            WorkingDirectory = dir.Path,
            Environment = new Dictionary<string, string> { ["TRADESTORE__STORAGE__DATADIRECTORY"] = dir.Path },
        });
        await using var app = TradeStoreHost.Build(configuration, builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Services.AddSingleton<IStartupFilter>(new LoopbackCaller());
        });
        await app.StartAsync(Ct);
        using var client = app.GetTestClient();

        using var created = await client.PostAsync("/v1/trades", NodeProcess.Trade("ST-1"), Ct);
        using var cluster = await client.GetAsync("/v1/cluster", Ct);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.False(created.Headers.Contains("TradeStore-Term"));
        Assert.Equal(HttpStatusCode.NotFound, cluster.StatusCode);
        Assert.Null(app.Services.GetService<ClusterState>());
        await app.StopAsync(Ct);
    }

    /// <summary>TestServer requests carry no remote address; the embedded default serves loopback callers.</summary>

    [Fact]
    public void Build_ClusterWithApiKeysButNoReplicationKey_RefusedNamingTheKey()
    {
        using var dir = new TempDirectory("cluster-keys");
        var configuration = TradeStoreConfiguration.Build(new ConfigurationInputs
        {
            BaseDirectory = dir.Path,
            WorkingDirectory = dir.Path,
            Environment = new Dictionary<string, string>
            {
                ["TRADESTORE__STORAGE__DATADIRECTORY"] = dir.Path,
                ["TRADESTORE__SECURITY__APIKEYS__0__NAME"] = "admin",
                ["TRADESTORE__SECURITY__APIKEYS__0__ROLE"] = "admin",
                ["TRADESTORE__SECURITY__APIKEYS__0__HASH"] = TradeStore.Core.Security.ApiKeyHash.Generate().Hash,
                ["TRADESTORE__CLUSTER__ETCD"] = "http://127.0.0.1:2379",
                ["TRADESTORE__CLUSTER__NODE"] = "a",
                ["TRADESTORE__CLUSTER__ADVERTISEURL"] = "http://127.0.0.1:5080",
            },
        });

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreHost.Build(configuration, builder => builder.WebHost.UseTestServer()));

        Assert.StartsWith("Cluster:ReplicationKey:", error.Message);
    }

    private sealed class LoopbackCaller : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                context.Connection.RemoteIpAddress = IPAddress.Loopback;
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
