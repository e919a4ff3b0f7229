using Microsoft.Extensions.Time.Testing;

namespace TradeStore.Cluster.Tests;

public sealed class LeaseClockTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Margin = TimeSpan.FromMilliseconds(600);
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void IsValid_NeverRenewed_False()
    {
        var clock = new LeaseClock(_time, Margin);

        Assert.False(clock.IsValid);
    }

    [Fact]
    public void IsValid_AfterRenewal_TrueUntilTtlLessMarginFromTheSendingOfTheRequest()
    {
        var clock = new LeaseClock(_time, Margin);
        var sentAt = clock.Now();
        _time.Advance(TimeSpan.FromMilliseconds(500)); // the answer took 0.5 s: the lease was restarted no earlier than the send
        clock.Renewed(sentAt, Ttl);

        _time.Advance(Ttl - Margin - TimeSpan.FromMilliseconds(500) - TimeSpan.FromMilliseconds(1));
        Assert.True(clock.IsValid);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(clock.IsValid);
    }

    [Fact]
    public void IsValid_ProcessPausedPastTheDeadline_FalseOnWakeWithoutAnyRenewalAttempt()
    {
        var clock = new LeaseClock(_time, Margin);
        clock.Renewed(clock.Now(), Ttl);
        Assert.True(clock.IsValid);

        // SIGSTOP: no code runs, but the monotonic clock goes on.
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.False(clock.IsValid);
        Assert.Equal(TimeSpan.Zero, clock.Remaining);
    }

    [Fact]
    public void Renewed_LateAnswerToAnOlderRequest_DoesNotShortenTheDeadline()
    {
        var clock = new LeaseClock(_time, Margin);
        var older = clock.Now();
        _time.Advance(TimeSpan.FromSeconds(1));
        var newer = clock.Now();
        clock.Renewed(newer, Ttl);
        var remaining = clock.Remaining;

        clock.Renewed(older, Ttl);

        Assert.Equal(remaining, clock.Remaining);
    }

    [Fact]
    public void Expire_ValidLease_InvalidAtOnce()
    {
        var clock = new LeaseClock(_time, Margin);
        clock.Renewed(clock.Now(), Ttl);

        clock.Expire();

        Assert.False(clock.IsValid);
    }

    [Fact]
    public void Renewed_TtlNotAboveTheMargin_NeverValid()
    {
        var clock = new LeaseClock(_time, Margin);

        clock.Renewed(clock.Now(), Margin);

        Assert.False(clock.IsValid);
    }
}
