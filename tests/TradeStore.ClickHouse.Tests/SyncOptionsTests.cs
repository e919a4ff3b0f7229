using TradeStore.Server.Configuration;
using TradeStore.TestSupport;

namespace TradeStore.ClickHouse.Tests;

public sealed class SyncOptionsTests : IDisposable
{
    private readonly TempDirectory _directory = new("syncoptions");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Bind_SyncKeysFromEnvironment_Applied()
    {
        var settings = Bind(new()
        {
            ["TRADESTORE__CLICKHOUSE__SYNC__BATCHMAX"] = "1000",
            ["TRADESTORE__CLICKHOUSE__SYNC__FLUSHINTERVAL"] = "00:00:00.050",
        });

        Assert.Equal(1_000, settings.ClickHouse.Sync.BatchMax);
        Assert.Equal(TimeSpan.FromMilliseconds(50), settings.ClickHouse.Sync.FlushInterval);
        Assert.Equal(500, settings.ClickHouse.Sync.BatchMin);
    }

    [Theory]
    [InlineData("TRADESTORE__CLICKHOUSE__SYNC__BATCHMIN", "60000", "ClickHouse:Sync:BatchMin: must not exceed BatchMax (50000), got 60000.")]
    [InlineData("TRADESTORE__CLICKHOUSE__SYNC__FLUSHINTERVAL", "00:05:00", "ClickHouse:Sync:FlushInterval: must be between 00:00:00.001 and 00:01:00, got 00:05:00.")]
    [InlineData("TRADESTORE__CLICKHOUSE__SYNC__BACKOFFMIN", "00:01:00", "ClickHouse:Sync:BackoffMin: must not exceed BackoffMax (00:00:30), got 00:01:00.")]
    public void Bind_InvalidSyncValue_ErrorNamesTheFullKey(string variable, string value, string expected)
    {
        var error = Assert.Throws<ConfigurationException>(() => Bind(new() { [variable] = value }));

        Assert.Equal(expected, error.Message);
    }

    private TradeStoreSettings Bind(Dictionary<string, string> environment) => TradeStoreSettings.Bind(TradeStoreConfiguration.Build(new ConfigurationInputs
    {
        BaseDirectory = _directory.Path,
        WorkingDirectory = _directory.Path,
        Environment = environment,
    }));
}
