namespace TradeStore.Core.Trades;

/// <summary>
/// Limits of quantities and prices. Stores use <c>DECIMAL(18,8)</c>: at most 10 integer digits and 8 decimals,
/// so anything finer or larger is refused at the edge rather than rounded silently.
/// </summary>
public static class Money
{
    public const int Scale = 8;

    /// <summary>Largest value that fits <c>DECIMAL(18,8)</c>.</summary>
    public const decimal Max = 9_999_999_999.99999999m;

    public static bool FitsStorage(decimal value) => value <= Max && value >= -Max && Math.Round(value, Scale) == value;

    /// <summary>Rounds a derived price (an average) to the stored scale, half to even.</summary>
    public static decimal RoundPrice(decimal value) => Math.Round(value, Scale, MidpointRounding.ToEven);
}
