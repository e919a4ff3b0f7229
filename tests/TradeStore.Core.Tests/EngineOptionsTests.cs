using TradeStore.Core.Options;

namespace TradeStore.Core.Tests;

public sealed class EngineOptionsTests
{
    [Fact]
    public void Validate_Defaults_Succeed() => Assert.True(new EngineOptionsValidator().Validate(null, new EngineOptions()).Succeeded);

    [Theory]
    [InlineData(0, 100, "MaxBatchSize")]
    [InlineData(100_001, 100, "MaxBatchSize")]
    [InlineData(10, 0, "QueueCapacity")]
    public void Validate_OutOfRange_FailureNamesSetting(int maxBatchSize, int queueCapacity, string setting)
    {
        var result = new EngineOptionsValidator().Validate(null, new EngineOptions { MaxBatchSize = maxBatchSize, QueueCapacity = queueCapacity });

        Assert.True(result.Failed);
        Assert.Contains(setting, result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3_600_001)]
    public void Validate_StateFlushIntervalOutOfRange_FailureNamesSetting(int milliseconds)
    {
        var result = new EngineOptionsValidator().Validate(null, new EngineOptions { StateFlushInterval = TimeSpan.FromMilliseconds(milliseconds) });

        Assert.True(result.Failed);
        Assert.Contains("StateFlushInterval", result.FailureMessage, StringComparison.Ordinal);
    }
}
