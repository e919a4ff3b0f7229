namespace TradeStore.Guard;

/// <summary>
/// How the guard supervises its child. By design these come from the <c>tradestore guard</c> command line, not
/// from the layered configuration: the guard must keep working when that configuration is broken (a bad value
/// is the child's failure, which the guard restarts, reports and finally escalates).
/// </summary>
public sealed record GuardOptions
{
    public required ChildCommand Command { get; init; }

    /// <summary>The liveness endpoint of the child (<c>/health/live</c>).</summary>
    public required Uri ProbeUrl { get; init; }

    /// <value>Default 5 s (Kubernetes' liveness default is 10 s; a trading service wants a hang noticed sooner).</value>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <value>Default 2 s: <c>/health/live</c> runs no checks, so anything slower is a stall.</value>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Consecutive failed probes after which a child that had answered is treated as hung.</summary>
    /// <value>Default 3 (Kubernetes' failureThreshold).</value>
    public int ProbeFailures { get; init; } = 3;

    /// <summary>How long a new child may take to answer its first probe (Kubernetes' startup probe).</summary>
    /// <value>
    /// Default 10 minutes. By design far above a normal start: start-up loads every trade and every idempotency key into
    /// memory, so its time grows with the book (29 s for 10,000,000 trades on an idle 2-core machine, several times that
    /// on a busy one: a 50-minute soak on a machine at load 20-30 took 55 s with 253,000 trades). A start cut off for
    /// being slow is no faster the next time, so a timeout below the start-up time is a restart loop that never serves,
    /// while a start that truly hangs costs only this long once.
    /// </value>
    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <value>Default 100 ms (systemd's <c>RestartSec</c>).</value>
    public TimeSpan BackoffMin { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <value>Default 10 s.</value>
    public TimeSpan BackoffMax { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Restarts allowed within <see cref="RestartWindow"/>; one more and the guard gives up (Erlang's MaxR).</summary>
    /// <value>Default 5 (systemd's <c>StartLimitBurst</c>).</value>
    public int MaxRestarts { get; init; } = 5;

    /// <summary>Erlang's MaxT.</summary>
    /// <value>
    /// Default 30 s. By design longer than systemd's 10 s: systemd restarts every 100 ms, while with exponential
    /// backoff five restarts of a child that crashes at once take about 1.5 s of backoff plus five start-ups
    /// (each about 1 s on a busy 2-core machine), and the limit must still catch that crash loop.
    /// </value>
    public TimeSpan RestartWindow { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the child may take to exit after SIGTERM before it gets SIGKILL.</summary>
    /// <value>Default 30 s: above <c>Server:ShutdownTimeout</c> (10 s) so a draining server is never cut short.</value>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>After the child has answered every probe for this long, the next restart starts again at <see cref="BackoffMin"/>.</summary>
    /// <value>Default 30 s, the restart window.</value>
    public TimeSpan HealthyReset { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Where the guard keeps its JSON status; null for none.</summary>
    public string? StatusFile { get; init; }

    /// <summary>
    /// The longest duration a flag takes: below the 24.8 days of a probe's HTTP timeout and the 49.7 days of a timer, which
    /// a longer one (<c>--probe-interval 99999999h</c>) broke after the child had started, with an unhandled exception.
    /// </summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(24);

    /// <summary>Every rule these settings break, each naming the <c>tradestore guard</c> flag.</summary>
    public IEnumerable<string> Validate()
    {
        (string Flag, TimeSpan Duration)[] durations =
        [
            ("--probe-interval", ProbeInterval), ("--probe-timeout", ProbeTimeout), ("--startup-timeout", StartupTimeout),
            ("--backoff-min", BackoffMin), ("--backoff-max", BackoffMax), ("--restart-window", RestartWindow),
            ("--grace-period", GracePeriod), ("--healthy-reset", HealthyReset),
        ];
        foreach (var (flag, duration) in durations)
        {
            if (duration > MaxDuration)
            {
                yield return $"{flag} must be at most {MaxDuration.TotalDays:0} days ({MaxDuration:c}), got {duration:c}.";
            }
        }

        if (ProbeInterval < TimeSpan.FromMilliseconds(10))
        {
            yield return "--probe-interval must be at least 10ms.";
        }

        if (ProbeTimeout < TimeSpan.FromMilliseconds(10))
        {
            yield return "--probe-timeout must be at least 10ms.";
        }

        if (ProbeFailures < 1)
        {
            yield return "--probe-failures must be at least 1.";
        }

        if (StartupTimeout <= TimeSpan.Zero)
        {
            yield return "--startup-timeout must be positive.";
        }

        if (BackoffMin <= TimeSpan.Zero)
        {
            yield return "--backoff-min must be positive.";
        }

        if (BackoffMax < BackoffMin)
        {
            yield return $"--backoff-max ({BackoffMax}) must not be below --backoff-min ({BackoffMin}).";
        }

        if (MaxRestarts < 0)
        {
            yield return "--max-restarts must be 0 or more.";
        }

        if (RestartWindow <= TimeSpan.Zero)
        {
            yield return "--restart-window must be positive.";
        }

        if (GracePeriod <= TimeSpan.Zero)
        {
            yield return "--grace-period must be positive.";
        }

        if (HealthyReset <= TimeSpan.Zero)
        {
            yield return "--healthy-reset must be positive.";
        }

        if (ProbeUrl.Scheme != Uri.UriSchemeHttp && ProbeUrl.Scheme != Uri.UriSchemeHttps)
        {
            yield return $"--probe-url must be an http:// or https:// address, got '{ProbeUrl}'.";
        }

        if (StatusFile is { } statusFile && Directory.Exists(statusFile))
        {
            // Written as FILE.tmp renamed onto FILE: onto a directory every rename failed (one warning), and FILE.tmp was left beside it.
            yield return $"--status-file: {Path.GetFullPath(statusFile)} is a directory, not a file.";
        }
    }
}
