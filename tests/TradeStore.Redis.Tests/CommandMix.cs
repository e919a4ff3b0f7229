using TradeStore.Core.Trades;

namespace TradeStore.Redis.Tests;

/// <summary>A reproducible stream of mixed commands (create, amend, fill, cancel, delete) over a few accounts and symbols.</summary>
public sealed class CommandMix(int seed, string idPrefix)
{
    private static readonly string[] Accounts = ["ACC-1", "ACC-2", "ACC-3"];
    private static readonly string[] Symbols = ["AAPL", "MSFT", "EURUSD", "BTC-USD"];

    private readonly Random _random = new(seed);
    private readonly List<string> _ids = [];
    private int _next;

    public TradeCommand Next(IReadOnlyDictionary<string, Trade> states)
    {
        var roll = _random.Next(100);
        if (_ids.Count < 5 || roll < 35)
        {
            var id = $"{idPrefix}-{_next++}";
            _ids.Add(id);
            return new CreateTrade(id, Accounts[_random.Next(Accounts.Length)], Symbols[_random.Next(Symbols.Length)],
                _random.Next(2) == 0 ? Side.Buy : Side.Sell, Quantity(1000), Price(), Venue: _random.Next(3) == 0 ? null : "XNAS",
                Trader: "trader-" + _random.Next(4));
        }

        var target = _ids[_random.Next(_ids.Count)];
        var remaining = states.TryGetValue(target, out var state) ? state.RemainingQuantity : 1m;
        return roll switch
        {
            < 70 => new FillTrade(target, Math.Max(0.00000001m, Math.Min(remaining, Quantity(400))), Price()),
            < 80 => new AmendTrade(target, null, Price: Price()),
            < 90 => new CancelTrade(target),
            _ => new DeleteTrade(target),
        };
    }

    public TradeCommand[] Batch(IReadOnlyDictionary<string, Trade> states, int size) => [.. Enumerable.Range(0, size).Select(_ => Next(states))];

    private decimal Quantity(int max) => Math.Round((decimal)_random.Next(1, max * 100) / 100m + (decimal)_random.Next(0, 100) / 10_000_000m, 8);

    private decimal Price() => Math.Round(10m + ((decimal)_random.Next(0, 1_000_000) / 1000m) + ((decimal)_random.Next(0, 10) / 100_000_000m), 8);
}
