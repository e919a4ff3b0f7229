using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using TradeStore.Core.Diagnostics;

namespace TradeStore.Core.Tests;

/// <summary>A duration in a log line reads as the guard's do (<see cref="Durations.Format"/>), not as .NET's <c>00:00:01.2340000</c>.</summary>
public sealed partial class LoggedDurationTests
{
    [Theory]
    [InlineData(0.3, "0.3ms")]
    [InlineData(250, "250ms")]
    [InlineData(1234, "1.234s")]
    [InlineData(90_000, "90s")]
    [InlineData(120_000, "2m")]
    public void LoggerMessage_DurationParameter_WrittenInTheShortForm(double milliseconds, string expected)
    {
        var logger = new FakeLogger();

        Retrying(logger, TimeSpan.FromMilliseconds(milliseconds));

        Assert.Equal($"retrying in {expected}", logger.LatestRecord.Message);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "retrying in {Delay}")]
    private static partial void Retrying(ILogger logger, LoggedDuration delay);
}
