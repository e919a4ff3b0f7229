namespace TradeStore.ClickHouse.Verification;

/// <summary>
/// The outcome of comparing a derived store with the DuckDB journal: what was seen, and every difference found. A large
/// drift names only the first few trades or events (<see cref="Differences"/>); <see cref="Unlisted"/> counts the rest,
/// so the total an operator reads is every difference, not only the lines printed.
/// </summary>
public sealed record VerificationReport(string Target, IReadOnlyList<string> Facts, IReadOnlyList<string> Differences, long Unlisted = 0)
{
    public bool Clean => Differences.Count == 0 && Unlisted == 0;

    /// <summary>Every difference found: those listed and those only counted.</summary>
    public long Count => Differences.Count + Unlisted;
}
