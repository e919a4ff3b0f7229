namespace TradeStore.Client.Tests;

/// <summary>A query answer streamed by the server: the client reports a failure after the first byte as the server's problem, and the row limit as truncation.</summary>
public sealed class StreamedQueryClientTests(LiveServer server) : IClassFixture<LiveServer>
{
    // ~2 KB of JSON per row: the server's 5,000 rows are ~10 MB, streamed (past the 1 MiB the server holds).
    private static readonly string Pad = new('x', 2000);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task QueryAsync_FailsAfterTheAnswerStarted_ThrowsTheServersProblemNamingSql()
    {
        // Fails at row 4,900: ~9.8 MB after the answer started, more than the server queues, so after its first byte.
        var sql = $"SELECT CASE WHEN range = 4900 THEN error('late failure') ELSE range END AS n, '{Pad}' AS pad FROM range(5000)";

        var problem = await Assert.ThrowsAsync<TradeStoreProblemException>(() => server.Client().QueryAsync(sql, Ct));

        Assert.Equal("urn:tradestore:problem:query-rejected", problem.Problem.Type);
        Assert.Equal("sql", problem.Problem.Field);
        Assert.Contains("late failure", problem.Problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QueryAsync_StreamedPastTheRowLimit_EveryRowUpToItAndTruncated()
    {
        var result = await server.Client().QueryAsync($"SELECT range AS n, '{Pad}' AS pad FROM range({LiveServer.QueryMaxRows + 1000})", Ct);

        Assert.True(result.Truncated);
        Assert.Equal(Enumerable.Range(0, LiveServer.QueryMaxRows).Select(i => (long)i), result.Rows.Select(r => (long)r[0]!));
    }
}
