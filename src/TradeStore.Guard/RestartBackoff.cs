namespace TradeStore.Guard;

/// <summary>
/// Exponential backoff between restarts: the n-th delay is <c>min·2ⁿ</c> capped at <c>max</c>, less up to a quarter
/// of random jitter, never below <c>min</c>. By design the jitter only shortens a step, so delays grow strictly
/// until the cap (a crash loop visibly slows down) while guards on many hosts still do not restart in lock-step.
/// </summary>
public sealed class RestartBackoff(TimeSpan min, TimeSpan max, Random random)
{
    public const double JitterFraction = 0.25;

    private int _attempt;

    /// <summary>Delays handed out since the last <see cref="Reset"/>.</summary>
    public int Attempt => _attempt;

    /// <summary>The delay before the next restart, without jitter.</summary>
    public TimeSpan NextBase => Base(_attempt);

    public TimeSpan Next()
    {
        var nominal = Base(_attempt);
        var jittered = nominal * (1 - (JitterFraction * random.NextDouble()));
        // Once the cap is reached the attempt count stops mattering; keeping it bounded avoids overflow.
        _attempt = Math.Min(_attempt + 1, 62);
        return jittered < min ? min : jittered > max ? max : jittered;
    }

    public void Reset() => _attempt = 0;

    /// <summary>The sum of the first <paramref name="count"/> delays at their shortest (all jitter applied).</summary>
    public TimeSpan ShortestTotal(int count)
    {
        var total = TimeSpan.Zero;
        for (var i = 0; i < count; i++)
        {
            var shortest = Base(i) * (1 - JitterFraction);
            total += shortest < min ? min : shortest;
        }

        return total;
    }

    private TimeSpan Base(int attempt)
    {
        var ticks = min.Ticks * Math.Pow(2, attempt);
        return ticks >= max.Ticks ? max : TimeSpan.FromTicks((long)ticks);
    }
}
