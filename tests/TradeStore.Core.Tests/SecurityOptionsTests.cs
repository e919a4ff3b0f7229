using TradeStore.Core.Options;

namespace TradeStore.Core.Tests;

/// <summary>
/// The token bucket's size. Each bucket is refilled ten times a second and keeps only what fits, so a bucket smaller
/// than a tenth of the rate caps the rate (a burst of 20 at 400/s served 20 requests a second): it holds at least that.
/// </summary>
public sealed class SecurityOptionsTests
{
    [Theory]
    [InlineData(10_000, 20_000, 20_000)] // the defaults: the burst is the larger
    [InlineData(400, 20, 40)]
    [InlineData(10_000_000, 20_000, 1_000_000)] // a rate set high and the burst left at its default
    [InlineData(1, 3, 3)]
    [InlineData(15, 1, 2)] // a tenth of 15, rounded up
    [InlineData(0, 5, 5)] // unlimited: no bucket is made
    public void BucketSize_BurstOrATenthOfTheRateWhicheverIsMore(int requestsPerSecond, int requestBurst, int expected)
    {
        var options = new SecurityOptions { RequestsPerSecond = requestsPerSecond, RequestBurst = requestBurst };

        Assert.Equal(expected, options.BucketSize());
    }
}
