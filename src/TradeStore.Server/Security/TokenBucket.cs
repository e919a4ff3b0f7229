using System.Threading.RateLimiting;

namespace TradeStore.Server.Security;

/// <summary>
/// A token bucket that refills by the time gone by, worked out at each request: <see cref="Capacity"/> tokens at most,
/// <see cref="TokensPerSecond"/> added per second, one taken per request, none queued.
/// </summary>
/// <remarks>
/// By design not <see cref="TokenBucketRateLimiter"/>: replenished by hand (as a partitioned limiter's heartbeat does), it
/// skips a full bucket without moving its refill clock, so the first refill after a burst credited the whole time the
/// bucket had sat full, another bucketful: with <c>Security:RequestBurst=20</c> at 20/s, 38–48 requests got through in
/// half a second after an idle second or more, where 30 may (bounds audit, session 37). Here the clock moves at every
/// look, full or not.
/// </remarks>
public sealed class TokenBucket : RateLimiter
{
    private static readonly RateLimitLease Acquired = new Lease(null);

    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private double _tokens;
    private long _updated;
    private long _fullSince;
    private long _successful;
    private long _failed;

    public TokenBucket(int capacity, double tokensPerSecond, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tokensPerSecond);
        Capacity = capacity;
        TokensPerSecond = tokensPerSecond;
        _time = time;
        _tokens = capacity;
        _updated = _fullSince = time.GetTimestamp();
    }

    public int Capacity { get; }

    public double TokensPerSecond { get; }

    /// <summary>How long the bucket has been full, for a partitioned limiter to drop buckets nobody uses; null while it is not.</summary>
    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (_lock)
            {
                var now = _time.GetTimestamp();
                Refill(now);
                return _tokens >= Capacity ? _time.GetElapsedTime(_fullSince, now) : null;
            }
        }
    }

    public override RateLimiterStatistics GetStatistics()
    {
        lock (_lock)
        {
            Refill(_time.GetTimestamp());
            return new RateLimiterStatistics
            {
                CurrentAvailablePermits = (long)_tokens,
                CurrentQueuedCount = 0,
                TotalSuccessfulLeases = _successful,
                TotalFailedLeases = _failed,
            };
        }
    }

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(permitCount, Capacity);
        lock (_lock)
        {
            Refill(_time.GetTimestamp());
            if (_tokens >= permitCount)
            {
                _tokens -= permitCount;
                _successful++;
                return Acquired;
            }

            _failed++;
            var wait = TimeSpan.FromSeconds((Math.Max(permitCount, 1) - _tokens) / TokensPerSecond);
            return new Lease(wait);
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(permitCount));

    /// <summary>Adds the tokens earned since the last look; when that fills the bucket, remembers the moment it became full.</summary>
    private void Refill(long now)
    {
        if (_tokens < Capacity)
        {
            var earned = _time.GetElapsedTime(_updated, now).TotalSeconds * TokensPerSecond;
            var missing = Capacity - _tokens;
            if (earned >= missing)
            {
                _tokens = Capacity;
                _fullSince = _updated + (long)(missing / TokensPerSecond * _time.TimestampFrequency);
            }
            else
            {
                _tokens += earned;
            }
        }

        _updated = now;
    }

    private sealed class Lease(TimeSpan? retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => retryAfter is null;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (retryAfter is { } wait && metadataName == MetadataName.RetryAfter.Name)
            {
                metadata = wait;
                return true;
            }

            metadata = null;
            return false;
        }
    }
}
