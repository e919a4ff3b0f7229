namespace TradeStore.Storage.Integrity;

/// <summary>One failed integrity rule, with examples an operator can look up.</summary>
public sealed record IntegrityProblem(string Rule, string Detail);

/// <summary>
/// What <see cref="IntegrityChecker"/> found. <see cref="Scope"/> says whether the state-versus-journal
/// comparison covered every trade or a sample, so a clean report never claims more than was checked.
/// </summary>
public sealed record IntegrityReport(long Events, long Trades, string Scope, IReadOnlyList<IntegrityProblem> Problems, TimeSpan Duration)
{
    public bool IsHealthy => Problems.Count == 0;

    /// <summary>A plain-text report for logs and the console, ending with the recovery options when unhealthy.</summary>
    public string Describe()
    {
        var lines = new List<string>
        {
            $"integrity check: {Events} events, {Trades} trades, state compared for {Scope}, {Duration.TotalMilliseconds:0} ms: " +
            (IsHealthy ? "OK" : $"{Problems.Count} problem(s)"),
        };
        lines.AddRange(Problems.Select(p => $"  - {p.Rule}: {p.Detail}"));
        if (!IsHealthy)
        {
            lines.Add("Nothing was changed. Recovery options:");
            lines.Add("  tradestore recover --from redis       append the journal tail that Redis still holds");
            lines.Add("  tradestore recover --from clickhouse  rebuild the database from ClickHouse's history (into an empty data directory)");
            lines.Add("  restore the last backup of the data directory, then recover the tail from Redis");
        }

        return string.Join(Environment.NewLine, lines);
    }
}
