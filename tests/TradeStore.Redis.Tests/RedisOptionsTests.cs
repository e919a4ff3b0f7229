using TradeStore.Server.Configuration;
using TradeStore.TestSupport;

namespace TradeStore.Redis.Tests;

public sealed class RedisOptionsTests
{
    [Theory]
    [InlineData("TRADESTORE__REDIS__STREAMMAXLENGTH", "5", "Redis:StreamMaxLength")]
    [InlineData("TRADESTORE__REDIS__MAXBATCHSIZE", "0", "Redis:MaxBatchSize")]
    [InlineData("TRADESTORE__REDIS__KEYPREFIX", "has space", "Redis:KeyPrefix")]
    [InlineData("TRADESTORE__REDIS__RETRYMAXDELAY", "00:00:00.020", "Redis:RetryMaxDelay")]
    [InlineData("TRADESTORE__REDIS__DEGRADEDLAG", "later", "Redis:DegradedLag")]
    public void Bind_BadRedisSetting_FailsNamingTheKey(string variable, string value, string key)
    {
        using var dir = new TempDirectory("redis-options");
        var configuration = TradeStoreConfiguration.Build(new ConfigurationInputs
        {
            BaseDirectory = dir.Path,
            WorkingDirectory = dir.Path,
            Environment = new Dictionary<string, string> { ["TRADESTORE__REDIS__CONNECTION"] = "127.0.0.1:6379", [variable] = value },
        });

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreSettings.Bind(configuration));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_Defaults_AreDocumentedValues()
    {
        using var dir = new TempDirectory("redis-options");
        var configuration = TradeStoreConfiguration.Build(new ConfigurationInputs { BaseDirectory = dir.Path, WorkingDirectory = dir.Path, Environment = new Dictionary<string, string>() });

        var redis = TradeStoreSettings.Bind(configuration).Redis;

        Assert.Equal((string.Empty, 1_000_000, 1_000, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)),
            (redis.KeyPrefix, redis.StreamMaxLength, redis.MaxBatchSize, redis.RetryBaseDelay, redis.RetryMaxDelay, redis.DegradedLag));
    }
}
