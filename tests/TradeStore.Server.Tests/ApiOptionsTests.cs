using TradeStore.Server.Configuration;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests;

/// <summary>The <c>Api</c> section: defaults, and a bad limit stops start-up naming the key.</summary>
public sealed class ApiOptionsTests : IDisposable
{
    private readonly TempDirectory _work = new("api-options");

    public void Dispose() => _work.Dispose();

    [Fact]
    public void Bind_NothingConfigured_DocumentedDefaults()
    {
        var settings = TradeStoreSettings.Bind(Build([]));

        Assert.Equal(4 * 1024 * 1024, settings.Api.MaxRequestBodyBytes);
        Assert.Equal(1000, settings.Api.MaxBatchSize);
        Assert.Equal(1000, settings.Api.MaxPageSize);
        Assert.Equal(100, settings.Api.DefaultPageSize);
    }

    [Theory]
    [InlineData("TRADESTORE__API__MAXREQUESTBODYBYTES", "10", "Api:MaxRequestBodyBytes")]
    [InlineData("TRADESTORE__API__MAXBATCHSIZE", "0", "Api:MaxBatchSize")]
    [InlineData("TRADESTORE__API__MAXPAGESIZE", "many", "Api:MaxPageSize")]
    [InlineData("TRADESTORE__API__DEFAULTPAGESIZE", "5000", "Api:DefaultPageSize")]
    [InlineData("TRADESTORE__API__MAXBODY", "1", "MAXBODY")]
    public void Bind_BadLimit_MessageNamesTheKey(string variable, string value, string expectedKey)
    {
        var error = Assert.Throws<ConfigurationException>(() => TradeStoreSettings.Bind(Build(new() { [variable] = value })));

        Assert.Contains(expectedKey, error.Message, StringComparison.OrdinalIgnoreCase);
    }

    private Microsoft.Extensions.Configuration.IConfigurationRoot Build(Dictionary<string, string> env) =>
        TradeStoreConfiguration.Build(new ConfigurationInputs { BaseDirectory = _work.Path, WorkingDirectory = _work.Path, Environment = env });
}
