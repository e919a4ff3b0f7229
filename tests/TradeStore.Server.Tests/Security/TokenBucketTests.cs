using System.Threading.RateLimiting;
using Microsoft.Extensions.Time.Testing;
using TradeStore.Server.Security;

namespace TradeStore.Server.Tests.Security;

/// <summary>
/// The per-key request bucket. .NET's TokenBucketRateLimiter, replenished by hand as the partitioned limiter does, credited
/// the time its bucket sat full to the first refill after a burst: a second bucketful at once (bounds audit, session 37).
/// </summary>
public sealed class TokenBucketTests
{
    [Fact]
    public void AfterAnIdleFullBucketIsDrained_RefillsAtTheRateNotAtOnce()
    {
        var time = new FakeTimeProvider();
        using var bucket = new TokenBucket(capacity: 20, tokensPerSecond: 20, time);
        time.Advance(TimeSpan.FromSeconds(6));

        Assert.Equal(20, Drain(bucket));
        time.Advance(TimeSpan.FromMilliseconds(100));

        // 100 ms at 20/s earn 2 requests; the old limiter served 20 here.
        Assert.Equal(2, Drain(bucket));
    }

    [Fact]
    public void Refused_RetryAfterIsTheTimeToTheNextToken()
    {
        var time = new FakeTimeProvider();
        using var bucket = new TokenBucket(capacity: 3, tokensPerSecond: 4, time);
        Drain(bucket);

        using var refused = bucket.AttemptAcquire();

        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(250), retryAfter);
    }

    [Fact]
    public void IdleDuration_CountsFromTheMomentTheBucketFilledUp()
    {
        var time = new FakeTimeProvider();
        using var bucket = new TokenBucket(capacity: 10, tokensPerSecond: 10, time);
        Drain(bucket);
        time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Null(bucket.IdleDuration);

        // Full 1 s after the drain; 3 s later it has been idle for 2 s (a partitioned limiter drops it after 10 s).
        time.Advance(TimeSpan.FromMilliseconds(2500));

        Assert.Equal(TimeSpan.FromSeconds(2), bucket.IdleDuration);
        Assert.Equal(10, bucket.GetStatistics().CurrentAvailablePermits);
    }

    [Fact]
    public void NeverMoreThanTheCapacity_HoweverLongIdle()
    {
        var time = new FakeTimeProvider();
        using var bucket = new TokenBucket(capacity: 5, tokensPerSecond: 1000, time);
        time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(5, Drain(bucket));
    }

    private static int Drain(TokenBucket bucket)
    {
        var served = 0;
        while (true)
        {
            using var lease = bucket.AttemptAcquire();
            if (!lease.IsAcquired)
            {
                return served;
            }

            served++;
        }
    }
}
