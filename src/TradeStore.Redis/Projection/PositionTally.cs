using TradeStore.Core.Trades;

namespace TradeStore.Redis.Projection;

/// <summary>
/// Positions summed trade by trade as a snapshot's live trades pass (<see cref="ProjectionSnapshot.ReadTrades"/>): one
/// entry per account and symbol, small beside the book, so rebuild and verify need not keep the trades to sum them.
/// </summary>
internal sealed class PositionTally
{
    private readonly Dictionary<(string Account, string Symbol), Position> _positions = [];

    /// <summary>Adds a live trade's fills to its account's position in its symbol; a deleted or unfilled trade adds nothing.</summary>
    public void Add(Trade trade)
    {
        if (trade.Status == TradeStatus.Deleted || trade.FilledQuantity == 0)
        {
            return;
        }

        var key = (trade.Account, trade.Symbol);
        var position = _positions.GetValueOrDefault(key) ?? Position.Empty(trade.Account, trade.Symbol);
        _positions[key] = position.Apply(trade.Side, trade.FilledQuantity, trade.FilledNotional, 1);
    }

    /// <summary>The non-empty positions, by account, then symbol (ordinal).</summary>
    public List<Position> ToList() =>
        [.. _positions.Values.Where(p => !p.IsEmpty).OrderBy(p => p.Account, StringComparer.Ordinal).ThenBy(p => p.Symbol, StringComparer.Ordinal)];
}
