namespace TradeStore.Guard.Tests;

public sealed class RestartBackoffTests
{
    private static readonly TimeSpan Min = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(5);

    [Fact]
    public void Next_NoJitter_DoublesFromMinUntilMax()
    {
        var backoff = new RestartBackoff(Min, Max, new FixedRandom(0));

        var delays = Enumerable.Range(0, 9).Select(_ => backoff.Next().TotalMilliseconds).ToArray();

        Assert.Equal([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000], delays);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(42)]
    public void Next_RandomJitter_StaysWithinMinMaxAndAQuarterBelowTheNominalStep(int seed)
    {
        var backoff = new RestartBackoff(Min, Max, new Random(seed));
        var nominal = new RestartBackoff(Min, Max, new FixedRandom(0));

        for (var i = 0; i < 200; i++)
        {
            var expected = nominal.Next();
            var delay = backoff.Next();

            Assert.InRange(delay, Min, Max);
            Assert.InRange(delay, TimeSpan.FromTicks((long)(expected.Ticks * 0.75)) - TimeSpan.FromTicks(1), expected);
        }
    }

    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    public void Next_RandomJitter_GrowsStrictlyUntilTheCap(int seed)
    {
        var backoff = new RestartBackoff(Min, TimeSpan.FromMinutes(10), new Random(seed));

        var delays = Enumerable.Range(0, 12).Select(_ => backoff.Next()).ToArray();

        for (var i = 2; i < delays.Length; i++)
        {
            Assert.True(delays[i] > delays[i - 1], $"delay {i} ({delays[i]}) is not longer than delay {i - 1} ({delays[i - 1]})");
        }
    }

    [Fact]
    public void Next_ManyAttempts_NeverOverflows()
    {
        var backoff = new RestartBackoff(Min, Max, new FixedRandom(0.5));

        for (var i = 0; i < 10_000; i++)
        {
            Assert.InRange(backoff.Next(), Min, Max);
        }
    }

    [Fact]
    public void Reset_AfterGrowth_StartsAgainAtMin()
    {
        var backoff = new RestartBackoff(Min, Max, new FixedRandom(0));
        backoff.Next();
        backoff.Next();
        backoff.Next();

        backoff.Reset();

        Assert.Equal(Min, backoff.Next());
    }

    /// <summary>A <see cref="Random"/> whose every draw is the same number, to pin the jitter.</summary>
    private sealed class FixedRandom(double value) : Random
    {
        public override double NextDouble() => value;
    }
}
