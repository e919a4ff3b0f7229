using Microsoft.AspNetCore.Builder;
using TradeStore.Server;
using TradeStore.Server.Configuration;
using TradeStore.Tests;

namespace TradeStore.ClickHouse.Tests.Support;

/// <summary>
/// The real TradeStore host on a test server with the ClickHouse sync on: short timeouts and back-off so outages and
/// recoveries show within a test, and <c>/metrics</c> open (a test server's requests carry no remote address, which is
/// not loopback).
/// </summary>
internal static class SyncTestHost
{
    public static async Task<WebApplication> StartAsync(string dataDirectory, string clickHouseUrl, string database,
        string backoffMin = "00:00:00.050", string backoffMax = "00:00:00.500")
    {
        var configuration = TradeStoreConfiguration.Build(new ConfigurationInputs
        {
            BaseDirectory = dataDirectory,
            WorkingDirectory = dataDirectory,
            Environment = new Dictionary<string, string>
            {
                ["TRADESTORE__STORAGE__DATADIRECTORY"] = dataDirectory,
                ["TRADESTORE__CLICKHOUSE__URL"] = clickHouseUrl,
                ["TRADESTORE__CLICKHOUSE__DATABASE"] = database,
                ["TRADESTORE__CLICKHOUSE__TIMEOUT"] = "00:00:02",
                ["TRADESTORE__CLICKHOUSE__HEALTHTIMEOUT"] = "00:00:00.500",
                ["TRADESTORE__CLICKHOUSE__SYNC__FLUSHINTERVAL"] = "00:00:00.020",
                ["TRADESTORE__CLICKHOUSE__SYNC__BACKOFFMIN"] = backoffMin,
                ["TRADESTORE__CLICKHOUSE__SYNC__BACKOFFMAX"] = backoffMax,
                ["TRADESTORE__SECURITY__METRICS"] = "Open",
            },
        });
        var app = TradeStoreHost.Build(configuration, builder => builder.UseLoopbackTestServer());
        await app.StartAsync(TestContext.Current.CancellationToken);
        return app;
    }
}
