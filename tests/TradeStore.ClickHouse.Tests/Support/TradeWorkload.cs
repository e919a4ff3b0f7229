using TradeStore.Core.Trades;

namespace TradeStore.ClickHouse.Tests.Support;

/// <summary>
/// A deterministic mix of every command kind over many trades: creates, partial fills, amends, full fills,
/// cancels and deletes, with prices and quantities using all 8 decimals. Submitted phase by phase so each
/// phase runs concurrently (the engine batches it) while every trade's commands stay in order.
/// </summary>
internal static class TradeWorkload
{
    private static readonly string[] Accounts = ["acc-1", "acc-2", "acc-3"];
    private static readonly string[] Symbols = ["AAPL", "MSFT", "EURUSD", "BTC-USD"];

    /// <summary>Runs the workload; returns the number of events written.</summary>
    public static async Task<int> RunAsync(ITradeCommands commands, int trades, string prefix, int seed = 7)
    {
        var random = new Random(seed);
        var ids = Enumerable.Range(0, trades).Select(i => $"{prefix}-{i:D6}").ToList();
        var quantities = new Dictionary<string, decimal>();
        var events = 0;

        events += await SubmitAsync(commands, ids.Select(id =>
        {
            var quantity = Math.Round((decimal)random.Next(1, 1_000_000) / 1000m + 0.00000001m * random.Next(0, 1000), 8);
            quantities[id] = quantity;
            return (TradeCommand)new CreateTrade(id, Accounts[random.Next(Accounts.Length)], Symbols[random.Next(Symbols.Length)],
                random.Next(2) == 0 ? Side.Buy : Side.Sell, quantity, Math.Round((decimal)random.NextDouble() * 99_999m, 8),
                Venue: random.Next(3) == 0 ? null : "XNAS", Trader: random.Next(2) == 0 ? null : "trader-é", IdempotencyKey: $"create-{id}");
        }));

        events += await SubmitAsync(commands, ids.Where((_, i) => i % 10 < 7).Select(id =>
            (TradeCommand)new FillTrade(id, Math.Round(quantities[id] * 0.3m, 8), 101.12345678m)));

        events += await SubmitAsync(commands, ids.Where((_, i) => i % 10 is 2 or 5 or 8).Select(id =>
            (TradeCommand)new AmendTrade(id, ExpectedVersion: null, Price: 99.00000001m)));

        events += await SubmitAsync(commands, ids.Select((id, i) => (i % 20) switch
        {
            0 or 1 => new CancelTrade(id),
            3 => new DeleteTrade(id),
            4 or 5 or 6 or 7 => new FillTrade(id, quantities[id] - Math.Round(quantities[id] * 0.3m, 8), 0.00000001m),
            _ => (TradeCommand?)null,
        }).OfType<TradeCommand>());

        return events;
    }

    /// <summary>Submits concurrently and asserts every command was applied; returns how many.</summary>
    public static async Task<int> SubmitAsync(ITradeCommands commands, IEnumerable<TradeCommand> batch)
    {
        var results = await Task.WhenAll(batch.Select(c => commands.SubmitAsync(c, TestContext.Current.CancellationToken).AsTask()));
        var refused = results.FirstOrDefault(r => !r.Succeeded);
        Assert.True(refused is null, $"refused: {refused?.Error}");
        return results.Length;
    }
}
