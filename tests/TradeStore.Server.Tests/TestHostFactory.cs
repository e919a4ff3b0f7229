using Microsoft.AspNetCore.Builder;
using TradeStore.Server.Configuration;
using TradeStore.TestSupport;
using TradeStore.Tests;

namespace TradeStore.Server.Tests;

/// <summary>Builds the real TradeStore host on an in-memory test server, with a real DuckDB file.</summary>
internal static class TestHostFactory
{
    /// <inheritdoc cref="LoopbackTestServer.RemoteAddressHeader"/>
    public const string RemoteAddressHeader = LoopbackTestServer.RemoteAddressHeader;

    public static async Task<WebApplication> StartAsync(string dataDirectory, Dictionary<string, string>? environment = null, Action<WebApplicationBuilder>? configure = null)
    {
        var env = new Dictionary<string, string>(environment ?? []) { ["TRADESTORE__STORAGE__DATADIRECTORY"] = dataDirectory };

        env.TryAdd("TRADESTORE__SECURITY__QUERY__TIMEOUT", TestQueryTimeout.Value);
        var configuration = TradeStoreConfiguration.Build(new ConfigurationInputs
        {
            BaseDirectory = dataDirectory,
            WorkingDirectory = dataDirectory,
            Environment = env,
        });
        var app = TradeStoreHost.Build(configuration, builder =>
        {
            builder.UseLoopbackTestServer();
            configure?.Invoke(builder);
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return app;
    }
}
