namespace TradeStore.ClickHouse.Verification;

/// <summary>The outcome of comparing a derived store with the DuckDB journal: what was seen, and every difference found.</summary>
public sealed record VerificationReport(string Target, IReadOnlyList<string> Facts, IReadOnlyList<string> Differences)
{
    public bool Clean => Differences.Count == 0;
}
