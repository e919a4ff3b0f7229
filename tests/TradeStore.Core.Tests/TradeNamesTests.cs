using TradeStore.Core.Trades;

namespace TradeStore.Core.Tests;

public sealed class TradeNamesTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    /// <summary>Two trades created from separately parsed, equal names hold the same instances (the index keeps one copy of each name).</summary>
    [Fact]
    public void Create_EqualNamesFromSeparateStrings_TradesShareOneInstanceOfEach()
    {
        var first = Created("T-1", new string("ACC-NAMES".AsSpan()), new string("SYM-NAMES".AsSpan()), new string("XLON-NAMES".AsSpan()));
        var second = Created("T-2", new string("ACC-NAMES".AsSpan()), new string("SYM-NAMES".AsSpan()), new string("XLON-NAMES".AsSpan()));

        Assert.Equal("ACC-NAMES", second.Account);
        Assert.Same(first.Account, second.Account);
        Assert.Same(first.Symbol, second.Symbol);
        Assert.Same(first.Venue, second.Venue);
        Assert.Null(Created("T-3", "ACC-NAMES", "SYM-NAMES", venue: null).Venue);
    }

    [Fact]
    public void Share_SameTextTwice_ReturnsTheFirstInstance()
    {
        var name = new string("SHARED-ONCE".AsSpan());

        Assert.Same(name, TradeNames.Share(name));
        Assert.Same(name, TradeNames.Share(new string("SHARED-ONCE".AsSpan())));
        Assert.Null(TradeNames.ShareOptional(null));
    }

    private static Trade Created(string id, string account, string symbol, string? venue)
    {
        Assert.True(TradeLifecycle.TryDecide(new CreateTrade(id, account, symbol, Side.Buy, 10, 101.25m, venue), null, 1, Now, out var transition, out _));
        return transition.State;
    }
}
