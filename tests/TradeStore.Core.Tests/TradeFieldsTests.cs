using TradeStore.Core.Trades;

namespace TradeStore.Core.Tests;

/// <summary>The one description of a trade's state fields: each typed accessor reads its own field, and only its own type.</summary>
public sealed class TradeFieldsTests
{
    private static readonly DateTimeOffset Executed = new(2026, 12, 1, 9, 30, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Created = Executed.AddSeconds(2);

    private static readonly Trade Sample = new("T1", "ACC-1", "AAPL", Side.Sell, 100.5m, 10.125m, 40m, 405.0m, TradeStatus.PartiallyFilled,
        "XNAS", null, Executed, 2, 7, Created, Created.AddSeconds(1));

    [Fact]
    public void State_EachFieldReadsItsValueThroughItsTypedAccessor()
    {
        var values = TradeFields.State.ToDictionary(f => f.Column, f => f.Type switch
        {
            TradeFieldType.Decimal => (object?)f.DecimalOf(Sample),
            TradeFieldType.Timestamp => f.TimestampOf(Sample),
            _ => f.TextOf(Sample),
        });

        Assert.Equal(
            new Dictionary<string, object?>
            {
                ["account"] = "ACC-1", ["symbol"] = "AAPL", ["side"] = "sell", ["quantity"] = 100.5m, ["price"] = 10.125m,
                ["filled_quantity"] = 40m, ["filled_notional"] = 405.0m, ["status"] = "partially_filled", ["venue"] = "XNAS",
                ["trader"] = null, ["executed_at"] = Executed, ["created_at"] = Created,
            },
            values);
    }

    [Fact]
    public void Accessor_OfAnotherType_ThrowsNamingTheField()
    {
        var error = Assert.Throws<InvalidOperationException>(() => TradeFields.Quantity.TimestampOf(Sample));
        Assert.Contains("quantity", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => TradeFields.Account.DecimalOf(Sample));
        Assert.Throws<InvalidOperationException>(() => TradeFields.ExecutedAt.TextOf(Sample));
    }

    [Fact]
    public void Fixed_OnlyTheFieldsACreateSetsForGood()
    {
        Assert.Equal(["account", "symbol", "side", "created_at"], TradeFields.State.Where(f => f.Fixed).Select(f => f.Column));
    }
}
