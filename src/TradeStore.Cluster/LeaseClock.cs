using TradeStore.Core.Threading;

namespace TradeStore.Cluster;

/// <summary>
/// Until when this node may act on its etcd lease, on a monotonic clock. etcd restarts a lease's TTL when it
/// receives a keep-alive, which is never before the keep-alive was sent; so the lease lives at least until
/// <c>sent + TTL</c>. The clock says valid until <c>sent + TTL - margin</c>, and by design reads the monotonic
/// timestamp of <see cref="TimeProvider.GetTimestamp"/> (CLOCK_MONOTONIC on Linux), which keeps running while the
/// process is stopped (SIGSTOP) or starved: a leader that wakes up after its lease could have expired finds the clock
/// already past, and refuses to acknowledge before it has talked to etcd again.
/// </summary>
public sealed class LeaseClock(TimeProvider time, TimeSpan margin)
{
    private long _validUntil = long.MinValue;

    /// <summary>The current monotonic timestamp; take it before sending a grant or keep-alive.</summary>
    public long Now() => time.GetTimestamp();

    /// <summary>Whether the lease may still be relied on now.</summary>
    public bool IsValid => time.GetTimestamp() < Volatile.Read(ref _validUntil);

    /// <summary>How long the lease may still be relied on (zero when it may not).</summary>
    public TimeSpan Remaining
    {
        get
        {
            var until = Volatile.Read(ref _validUntil);
            var now = time.GetTimestamp();
            return until <= now ? TimeSpan.Zero : time.GetElapsedTime(now, until);
        }
    }

    /// <summary>etcd granted or renewed the lease with <paramref name="ttl"/>, for a request sent at <paramref name="sentAt"/>.</summary>
    /// <remarks>Never moves the deadline back: a late answer to an older request cannot shorten a newer one.</remarks>
    public void Renewed(long sentAt, TimeSpan ttl)
    {
        var usable = ttl - margin;
        if (usable <= TimeSpan.Zero)
        {
            return;
        }

        InterlockedMax.Raise(ref _validUntil, sentAt + (long)(usable.TotalSeconds * time.TimestampFrequency));
    }

    /// <summary>The lease is gone (etcd said so, or it was revoked): nothing may be acknowledged on it.</summary>
    public void Expire() => Volatile.Write(ref _validUntil, long.MinValue);
}
