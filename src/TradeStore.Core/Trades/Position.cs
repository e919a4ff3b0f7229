namespace TradeStore.Core.Trades;

/// <summary>
/// Net position of one account in one symbol, derived from the fills of its live (not deleted) trades.
/// By design the average price is the volume-weighted average fill price of the side the position is on
/// (long: buys; short: sells). Unlike running average cost it is a plain sum, so deleting a trade
/// subtracts exactly what it added, and any order of replay gives the same figure, as long as the sums fit in a
/// decimal's 28–29 significant digits (docs/api.md: beyond that, decimal addition rounds and the last digits
/// depend on the order of events).
/// </summary>
public sealed record Position(string Account, string Symbol, decimal BoughtQuantity, decimal BoughtNotional, decimal SoldQuantity, decimal SoldNotional)
{
    public decimal NetQuantity => BoughtQuantity - SoldQuantity;

    public decimal AveragePrice => NetQuantity switch
    {
        > 0 => Money.RoundPrice(BoughtNotional / BoughtQuantity),
        < 0 => Money.RoundPrice(SoldNotional / SoldQuantity),
        _ => 0m,
    };

    public bool IsEmpty => BoughtQuantity == 0 && SoldQuantity == 0;

    public static Position Empty(string account, string symbol) => new(account, symbol, 0, 0, 0, 0);

    /// <summary>Adds (<paramref name="sign"/> = 1) or removes (-1) a trade's filled quantity and notional.</summary>
    public Position Apply(Side side, decimal filledQuantity, decimal filledNotional, int sign) => side == Side.Buy
        ? this with { BoughtQuantity = BoughtQuantity + (sign * filledQuantity), BoughtNotional = BoughtNotional + (sign * filledNotional) }
        : this with { SoldQuantity = SoldQuantity + (sign * filledQuantity), SoldNotional = SoldNotional + (sign * filledNotional) };
}
