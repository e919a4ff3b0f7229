using TradeStore.Core.Trades;

namespace TradeStore.Redis.Projection;

/// <summary>
/// The fields of one symbol inside <c>positions:{account}</c>. By design the four sums are stored next to the
/// derived net quantity and average price: a batch adds exact decimal deltas to the sums (computed here, never
/// with Lua floats), so the projection stays equal to a recomputation from DuckDB however it was built.
/// </summary>
internal static class PositionFields
{
    public const string Net = ":net";
    public const string AveragePrice = ":avgPrice";
    public const string BoughtQuantity = ":boughtQty";
    public const string BoughtNotional = ":boughtNotional";
    public const string SoldQuantity = ":soldQty";
    public const string SoldNotional = ":soldNotional";

    /// <summary>The four sums, in the order the projection script checks them.</summary>
    public static readonly string[] Sums = [BoughtQuantity, BoughtNotional, SoldQuantity, SoldNotional];

    /// <summary>All six suffixes, in the order the projection script writes them.</summary>
    public static readonly string[] All = [BoughtQuantity, BoughtNotional, SoldQuantity, SoldNotional, Net, AveragePrice];

    /// <summary>The six field values of a position, in the order of <see cref="All"/>.</summary>
    public static string[] Values(Position p) =>
    [
        RedisFormat.Decimal(p.BoughtQuantity),
        RedisFormat.Decimal(p.BoughtNotional),
        RedisFormat.Decimal(p.SoldQuantity),
        RedisFormat.Decimal(p.SoldNotional),
        RedisFormat.Decimal(p.NetQuantity),
        RedisFormat.Decimal(p.AveragePrice),
    ];

    /// <summary>Hash fields of one position; an empty position has none.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Fields(Position p)
    {
        if (p.IsEmpty)
        {
            yield break;
        }

        var values = Values(p);
        for (var i = 0; i < All.Length; i++)
        {
            yield return new(p.Symbol + All[i], values[i]);
        }
    }

    /// <summary>
    /// What one event changes in its account's position: a fill adds its execution, a delete removes everything
    /// the trade had filled. Other events change no position.
    /// </summary>
    public static (decimal Quantity, decimal Notional)? Delta(TradeEvent e) => e.Type switch
    {
        TradeEventType.Fill when e.LastQuantity is { } q && e.LastPrice is { } p => (q, q * p),
        TradeEventType.Delete when e.State.FilledQuantity != 0 => (-e.State.FilledQuantity, -e.State.FilledNotional),
        _ => null,
    };
}
