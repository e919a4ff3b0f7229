using StackExchange.Redis;

namespace TradeStore.Redis;

/// <summary>
/// The names of every key TradeStore writes, under one configurable prefix (<c>Redis:KeyPrefix</c>),
/// so several deployments can share one Redis and a test can own its keys. The fixed names are built once, not per use.
/// </summary>
public sealed class RedisKeys(string prefix)
{
    public string Prefix { get; } = prefix;

    /// <summary>Hash of a trade's current state; absent for deleted trades.</summary>
    public RedisKey Trade(string tradeId) => $"{Prefix}trade:{tradeId}";

    /// <summary>Hash of an account's positions: <c>{symbol}:net</c>, <c>{symbol}:avgPrice</c> and the sums they derive from.</summary>
    public RedisKey Positions(string account) => $"{Prefix}positions:{account}";

    /// <summary>The change stream: one entry per journal event, entry id <c>{seq}-0</c>.</summary>
    public RedisKey Stream { get; } = $"{prefix}trades:changes";

    /// <summary>The last journal <c>seq</c> the projection holds; written in the same script as the data.</summary>
    public RedisKey Checkpoint { get; } = $"{prefix}tradestore:checkpoint";

    /// <summary>
    /// A value that changes whenever the projection's hashes are emptied or rewritten other than event by event (a rebuild,
    /// a Redis that came back empty), so a reader can tell that the trade hashes it read may not go with the checkpoint
    /// it read and that its copy needs reading again (docs/architecture.md, "Reading the projection").
    /// </summary>
    public RedisKey Generation { get; } = $"{prefix}tradestore:generation";

    /// <summary>A new <see cref="Generation"/> value: unique, so two resets never leave the same one.</summary>
    public static string NewGeneration() => Guid.NewGuid().ToString("N");

    public string TradePattern { get; } = $"{EscapeGlob(prefix)}trade:*";

    public string PositionsPattern { get; } = $"{EscapeGlob(prefix)}positions:*";

    public string TradeIdOf(RedisKey key) => ((string)key!)[(Prefix.Length + "trade:".Length)..];

    public string AccountOf(RedisKey key) => ((string)key!)[(Prefix.Length + "positions:".Length)..];

    private static string EscapeGlob(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("*", "\\*", StringComparison.Ordinal)
            .Replace("?", "\\?", StringComparison.Ordinal).Replace("[", "\\[", StringComparison.Ordinal);
}
