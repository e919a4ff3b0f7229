namespace TradeStore.Guard;

/// <summary>
/// Decides, after the child ended unexpectedly, whether and when to restart it: backoff (reset once the child
/// has been healthy for a while) and the restart limit. Time comes from a <see cref="TimeProvider"/> so the rules
/// are tested without waiting.
/// </summary>
public sealed class RestartPolicy
{
    private readonly GuardOptions _options;
    private readonly TimeProvider _time;
    private readonly RestartBackoff _backoff;
    private readonly RestartLimiter _limiter;
    private DateTimeOffset? _healthySince;

    public RestartPolicy(GuardOptions options, TimeProvider time, Random random)
    {
        _options = options;
        _time = time;
        _backoff = new RestartBackoff(options.BackoffMin, options.BackoffMax, random);
        _limiter = new RestartLimiter(options.MaxRestarts, options.RestartWindow, time);
    }

    /// <summary>Restarts so far, over the guard's whole life.</summary>
    public int Restarts { get; private set; }

    public int RestartsInWindow => _limiter.InWindow;

    /// <summary>Whether a crash loop can reach the limit at all: the shortest backoff of MaxR restarts fits in the window.</summary>
    public TimeSpan ShortestBackoffToLimit => _backoff.ShortestTotal(_options.MaxRestarts);

    public void ChildStarted() => _healthySince = null;

    /// <summary>A probe succeeded. Returns the time healthy when this call reset the backoff, else null.</summary>
    public TimeSpan? ProbeSucceeded()
    {
        var now = _time.GetUtcNow();
        _healthySince ??= now;
        var healthyFor = now - _healthySince.Value;
        if (_backoff.Attempt > 0 && healthyFor >= _options.HealthyReset)
        {
            _backoff.Reset();
            return healthyFor;
        }

        return null;
    }

    public void ProbeFailed() => _healthySince = null;

    /// <summary>The decision after an unexpected end of the child.</summary>
    public RestartDecision NextRestart()
    {
        _healthySince = null;
        if (!_limiter.TryRecordRestart())
        {
            return new RestartDecision(false, TimeSpan.Zero, Restarts, _limiter.InWindow);
        }

        Restarts++;
        return new RestartDecision(true, _backoff.Next(), Restarts, _limiter.InWindow);
    }
}

/// <summary>Restart after <paramref name="Delay"/>, or give up when <paramref name="Restart"/> is false.</summary>
public readonly record struct RestartDecision(bool Restart, TimeSpan Delay, int Restarts, int InWindow);
