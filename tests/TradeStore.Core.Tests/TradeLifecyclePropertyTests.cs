using CsCheck;
using TradeStore.Core.Trades;

namespace TradeStore.Core.Tests;

/// <summary>
/// Random command sequences through <see cref="TradeLifecycle"/> against a deliberately naive model written
/// from DESIGN.md §3: both must accept the same commands and end with the same trades and positions.
/// </summary>
public sealed class TradeLifecyclePropertyTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public void TryDecide_RandomSequences_AgreesWithModel()
    {
        CommandGen.Commands.Sample(commands =>
        {
            var trades = new Dictionary<string, Trade>();
            var model = new Model();
            var seq = 0L;
            foreach (var command in commands)
            {
                trades.TryGetValue(command.TradeId, out var current);
                var decided = TradeLifecycle.TryDecide(command, current, seq + 1, Now, out var transition, out _);
                var modelAccepted = model.Apply(command);
                if (decided != modelAccepted)
                {
                    return false;
                }

                if (decided)
                {
                    seq++;
                    trades[command.TradeId] = transition.State;
                }
            }

            return trades.Values.All(model.Matches) && model.Positions().SequenceEqual(Positions(trades.Values));
        }, iter: 2_000);
    }

    /// <summary>Positions as the engine keeps them: Position.Apply of every live trade's fills.</summary>
    internal static List<(string Account, string Symbol, decimal Net, decimal Average)> Positions(IEnumerable<Trade> trades)
    {
        var positions = new Dictionary<(string, string), Position>();
        foreach (var t in trades.Where(t => t.Status != TradeStatus.Deleted))
        {
            var p = positions.TryGetValue((t.Account, t.Symbol), out var existing) ? existing : Position.Empty(t.Account, t.Symbol);
            positions[(t.Account, t.Symbol)] = p.Apply(t.Side, t.FilledQuantity, t.FilledNotional, 1);
        }

        return [.. positions.Values.Where(p => !p.IsEmpty).OrderBy(p => p.Account, StringComparer.Ordinal).ThenBy(p => p.Symbol, StringComparer.Ordinal)
            .Select(p => (p.Account, p.Symbol, p.NetQuantity, p.AveragePrice))];
    }
}

/// <summary>Random commands over a few ids, accounts and symbols, so conflicts and terminal states are frequent.</summary>
public static class CommandGen
{
    public static readonly Gen<TradeCommand> Command =
        Gen.Select(Gen.Int[0, 9], Gen.Int[0, 5], Gen.Int[0, 12], Gen.Int[0, 6], Gen.Int[0, 3])
            .Select(t => Make(t.Item1, t.Item2, t.Item3, t.Item4, t.Item5));

    public static readonly Gen<TradeCommand[]> Commands = Command.Array[1, 40];

    private static TradeCommand Make(int kind, int id, int quantity, int price, int version)
    {
        var tradeId = $"T{id}";
        long? expected = version == 0 ? null : version;
        return kind switch
        {
            0 or 1 or 2 => new CreateTrade(tradeId, $"A{id % 2}", $"S{id % 3}", id % 2 == 0 ? Side.Buy : Side.Sell, quantity + 1, price + 0.5m),
            3 or 4 or 5 => new FillTrade(tradeId, (quantity / 2m) + 0.25m, price + 1.125m),
            6 => new AmendTrade(tradeId, expected, Quantity: quantity + 1),
            7 => new AmendTrade(tradeId, expected, Price: price),
            8 => new CancelTrade(tradeId, expected),
            _ => new DeleteTrade(tradeId, expected),
        };
    }
}

/// <summary>The naive model: plain mutable fields, rules restated from DESIGN.md §3.</summary>
internal sealed class Model
{
    private readonly Dictionary<string, Row> _rows = [];

    public bool Apply(TradeCommand command)
    {
        _rows.TryGetValue(command.TradeId, out var row);
        if (command is CreateTrade create)
        {
            if (row is not null || create.Quantity <= 0 || create.Price < 0)
            {
                return false;
            }

            _rows[create.TradeId] = new Row { Account = create.Account, Symbol = create.Symbol, Side = create.Side, Quantity = create.Quantity, Price = create.Price, Status = "new", Version = 1 };
            return true;
        }

        if (row is null || row.Status == "deleted")
        {
            return false;
        }

        long? expected = command switch
        {
            AmendTrade a => a.ExpectedVersion,
            FillTrade f => f.ExpectedVersion,
            CancelTrade c => c.ExpectedVersion,
            DeleteTrade d => d.ExpectedVersion,
            _ => null,
        };
        if (expected is not null && expected != row.Version)
        {
            return false;
        }

        var open = row.Status is "new" or "partially_filled";
        switch (command)
        {
            case AmendTrade amend:
                if (!open || (amend.Quantity is { } q && q < row.Filled))
                {
                    return false;
                }

                row.Quantity = amend.Quantity ?? row.Quantity;
                row.Price = amend.Price ?? row.Price;
                if (row.Filled > 0)
                {
                    row.Status = row.Filled == row.Quantity ? "filled" : "partially_filled";
                }

                break;
            case FillTrade fill:
                if (!open || fill.Quantity <= 0 || fill.Quantity > row.Quantity - row.Filled)
                {
                    return false;
                }

                row.Filled += fill.Quantity;
                row.Notional += fill.Quantity * fill.Price;
                row.Status = row.Filled == row.Quantity ? "filled" : "partially_filled";
                break;
            case CancelTrade:
                if (!open)
                {
                    return false;
                }

                row.Status = "cancelled";
                break;
            case DeleteTrade:
                row.Status = "deleted";
                break;
        }

        row.Version++;
        return true;
    }

    public bool Matches(Trade trade) =>
        _rows.TryGetValue(trade.TradeId, out var row)
        && row.Status == trade.Status.ToCode()
        && row.Version == trade.Version
        && row.Quantity == trade.Quantity
        && row.Price == trade.Price
        && row.Filled == trade.FilledQuantity
        && row.Notional == trade.FilledNotional;

    /// <summary>Net quantity and side-VWAP per (account, symbol), summed directly over live rows.</summary>
    public List<(string Account, string Symbol, decimal Net, decimal Average)> Positions() =>
        [.. _rows.Values.Where(r => r.Status != "deleted" && r.Filled > 0)
            .GroupBy(r => (r.Account, r.Symbol))
            .OrderBy(g => g.Key.Account, StringComparer.Ordinal).ThenBy(g => g.Key.Symbol, StringComparer.Ordinal)
            .Select(g =>
            {
                var bought = g.Where(r => r.Side == Side.Buy).Sum(r => r.Filled);
                var boughtNotional = g.Where(r => r.Side == Side.Buy).Sum(r => r.Notional);
                var sold = g.Where(r => r.Side == Side.Sell).Sum(r => r.Filled);
                var soldNotional = g.Where(r => r.Side == Side.Sell).Sum(r => r.Notional);
                var net = bought - sold;
                var average = net > 0 ? Math.Round(boughtNotional / bought, 8, MidpointRounding.ToEven)
                    : net < 0 ? Math.Round(soldNotional / sold, 8, MidpointRounding.ToEven) : 0m;
                return (g.Key.Account, g.Key.Symbol, net, average);
            })];

    private sealed class Row
    {
        public string Account { get; set; } = "";

        public string Symbol { get; set; } = "";

        public Side Side { get; set; }

        public decimal Quantity { get; set; }

        public decimal Price { get; set; }

        public decimal Filled { get; set; }

        public decimal Notional { get; set; }

        public string Status { get; set; } = "";

        public long Version { get; set; }
    }
}
