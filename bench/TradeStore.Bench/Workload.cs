using TradeStore.Core.Trades;

namespace TradeStore.Bench;

/// <summary>
/// Generates commands: <c>insert</c> creates new trades only; <c>mixed</c> alternates creates with amends and
/// fills of trades that already exist (50% each), as a trading desk's flow looks.
/// </summary>
internal sealed class Workload(string kind)
{
    private static readonly string[] Accounts = [.. Enumerable.Range(0, 50).Select(i => $"ACC{i:D3}")];
    private static readonly string[] Symbols = [.. Enumerable.Range(0, 200).Select(i => $"SYM{i:D3}")];

    private readonly object _sync = new();
    private readonly List<string> _existing = [];
    private long _next;

    public async Task PreloadAsync(ITradeCommands engine, int count, CancellationToken cancellationToken)
    {
        var random = new Random(42);
        foreach (var chunk in Enumerable.Range(0, count).Chunk(4000))
        {
            await Task.WhenAll(chunk.Select(_ => Submit(Create(random))));
        }

        async Task<CommandResult> Submit(TradeCommand command)
        {
            var result = await engine.SubmitAsync(command, cancellationToken);
            Created(result, command);
            return result;
        }
    }

    public TradeCommand Next(Random random)
    {
        if (kind == "insert" || random.Next(2) == 0)
        {
            return Create(random);
        }

        string id;
        lock (_sync)
        {
            if (_existing.Count == 0)
            {
                return Create(random);
            }

            id = _existing[random.Next(_existing.Count)];
        }

        return random.Next(2) == 0
            ? new AmendTrade(id, null, Price: 100 + (random.Next(10_000) / 100m))
            : new FillTrade(id, 1, 100 + (random.Next(10_000) / 100m));
    }

    public void Created(CommandResult result, TradeCommand command)
    {
        if (command is CreateTrade && result.Succeeded && kind == "mixed")
        {
            lock (_sync)
            {
                _existing.Add(command.TradeId);
            }
        }
    }

    public IReadOnlyList<string> SampleIds(int count)
    {
        var random = new Random(3);
        var last = Interlocked.Read(ref _next);
        return [.. Enumerable.Range(0, count).Select(_ => $"W{random.NextInt64(1, Math.Max(2, last + 1))}")];
    }

    private CreateTrade Create(Random random)
    {
        var id = Interlocked.Increment(ref _next);
        // Large quantities so mixed fills of 1 never exhaust a trade within a run.
        return new CreateTrade($"W{id}", Accounts[random.Next(Accounts.Length)], Symbols[random.Next(Symbols.Length)],
            random.Next(2) == 0 ? Side.Buy : Side.Sell, 1_000_000, 100 + (random.Next(10_000) / 100m), "XNAS", "bench");
    }
}
