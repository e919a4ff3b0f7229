using Microsoft.Extensions.Time.Testing;

namespace TradeStore.Guard.Tests;

public sealed class RestartPolicyTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero));

    private static GuardOptions Options(int maxRestarts = 3, double windowSeconds = 10, double healthyResetSeconds = 30) => new()
    {
        Command = new ChildCommand("tradestore", ["serve"]),
        ProbeUrl = new Uri("http://127.0.0.1:5080/health/live"),
        BackoffMin = TimeSpan.FromMilliseconds(100),
        BackoffMax = TimeSpan.FromSeconds(10),
        MaxRestarts = maxRestarts,
        RestartWindow = TimeSpan.FromSeconds(windowSeconds),
        HealthyReset = TimeSpan.FromSeconds(healthyResetSeconds),
    };

    [Fact]
    public void NextRestart_MaxRestartsWithinWindow_AllowedThenGivesUp()
    {
        var policy = new RestartPolicy(Options(maxRestarts: 3, windowSeconds: 10), _time, new Random(1));

        var decisions = new List<RestartDecision>();
        for (var i = 0; i < 4; i++)
        {
            decisions.Add(policy.NextRestart());
            _time.Advance(TimeSpan.FromSeconds(2));
        }

        Assert.Equal([true, true, true, false], decisions.Select(d => d.Restart));
        Assert.Equal(3, policy.Restarts);
    }

    [Fact]
    public void NextRestart_OldRestartsLeftTheWindow_AllowedAgain()
    {
        var policy = new RestartPolicy(Options(maxRestarts: 3, windowSeconds: 10), _time, new Random(1));
        for (var i = 0; i < 3; i++)
        {
            Assert.True(policy.NextRestart().Restart);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        // The first restart was at t=0; at t=10 s it has left the 10-second window.
        _time.Advance(TimeSpan.FromSeconds(7));
        var decision = policy.NextRestart();

        Assert.True(decision.Restart);
        Assert.Equal(3, decision.InWindow);
        Assert.Equal(4, decision.Restarts);
    }

    [Fact]
    public void NextRestart_JustInsideTheWindow_GivesUp()
    {
        var policy = new RestartPolicy(Options(maxRestarts: 2, windowSeconds: 10), _time, new Random(1));
        policy.NextRestart();
        _time.Advance(TimeSpan.FromSeconds(5));
        policy.NextRestart();

        _time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromTicks(1));

        Assert.False(policy.NextRestart().Restart);
    }

    [Fact]
    public void NextRestart_ZeroMaxRestarts_GivesUpAtFirstFailure()
    {
        var policy = new RestartPolicy(Options(maxRestarts: 0), _time, new Random(1));

        Assert.False(policy.NextRestart().Restart);
    }

    [Fact]
    public void ProbeSucceeded_HealthyForHealthyReset_ResetsBackoff()
    {
        var policy = new RestartPolicy(Options(maxRestarts: 100, windowSeconds: 1, healthyResetSeconds: 30), _time, new Random(1));
        var grown = Enumerable.Range(0, 5).Select(_ => policy.NextRestart().Delay).ToArray()[^1];
        Assert.True(grown > TimeSpan.FromSeconds(1), $"backoff grew to {grown}");

        policy.ChildStarted();
        Assert.Null(policy.ProbeSucceeded());
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.Null(policy.ProbeSucceeded());
        _time.Advance(TimeSpan.FromSeconds(1));
        var healthyFor = policy.ProbeSucceeded();

        Assert.Equal(TimeSpan.FromSeconds(30), healthyFor);
        Assert.Equal(TimeSpan.FromMilliseconds(100), policy.NextRestart().Delay);
    }

    [Fact]
    public void ProbeSucceeded_StreakBrokenByAFailure_DoesNotReset()
    {
        var policy = new RestartPolicy(Options(maxRestarts: 100, windowSeconds: 1, healthyResetSeconds: 30), _time, new Random(1));
        for (var i = 0; i < 4; i++)
        {
            policy.NextRestart();
        }

        policy.ChildStarted();
        policy.ProbeSucceeded();
        _time.Advance(TimeSpan.FromSeconds(20));
        policy.ProbeFailed();
        policy.ProbeSucceeded();
        _time.Advance(TimeSpan.FromSeconds(20));

        Assert.Null(policy.ProbeSucceeded());
        Assert.True(policy.NextRestart().Delay >= TimeSpan.FromMilliseconds(1200), "the backoff keeps growing");
    }

    [Fact]
    public void ShortestBackoffToLimit_LongBackoffShortWindow_ExceedsWindow()
    {
        var options = Options(maxRestarts: 5, windowSeconds: 1) with { BackoffMin = TimeSpan.FromSeconds(1) };

        var policy = new RestartPolicy(options, _time, new Random(1));

        Assert.True(policy.ShortestBackoffToLimit >= options.RestartWindow);
    }
}
