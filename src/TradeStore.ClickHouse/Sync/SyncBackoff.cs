using TradeStore.Core.Options;

namespace TradeStore.ClickHouse.Sync;

/// <summary>
/// Retry delays of the sync daemon: exponential from <see cref="SyncOptions.BackoffMin"/>, capped at
/// <see cref="SyncOptions.BackoffMax"/>, with "equal jitter" (half fixed, half random) so that several stores
/// restarting together do not retry in step.
/// </summary>
internal sealed class SyncBackoff(TimeSpan min, TimeSpan max)
{
    /// <summary>The delay before retry number <paramref name="attempt"/> + 1 (0 for the first retry).</summary>
    public TimeSpan Delay(int attempt)
    {
        var cap = Math.Min(max.TotalMilliseconds, min.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30)));
        return TimeSpan.FromMilliseconds((cap / 2) + (Random.Shared.NextDouble() * cap / 2));
    }
}
