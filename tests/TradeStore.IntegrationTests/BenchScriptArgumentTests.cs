using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// The benchmark scripts refuse a bad command line with one line and exit 2 before they install or start anything
/// (bench-postgres.sh used to start a PostgreSQL cluster and then fail in pgbench, or stop without a word), and a
/// measurement that fails is not passed over in silence.
/// </summary>
public sealed class BenchScriptArgumentTests
{
    [Theory]
    [InlineData("bench-postgres.sh", new[] { "--duration" }, "bench-postgres.sh: --duration needs a value (see --help)")]
    [InlineData("bench-postgres.sh", new[] { "--duration", "0" }, "bench-postgres.sh: --duration must be a whole number of seconds, 1 or more; got '0'")]
    [InlineData("bench-postgres.sh", new[] { "--clients", "abc" }, "bench-postgres.sh: --clients must list whole numbers, 1 or more, e.g. \"1 16\"; got 'abc'")]
    [InlineData("bench-postgres.sh", new[] { "--clients", "" }, "bench-postgres.sh: --clients must list client counts, e.g. \"1 16\"; got ''")]
    [InlineData("bench-write-path.sh", new[] { "--duration" }, "bench-write-path.sh: --duration needs a value (see --help)")]
    [InlineData("bench-write-path.sh", new[] { "--duration", "0" }, "bench-write-path.sh: --duration must be a whole number of seconds, 1 or more; got '0'")]
    // It started a server first, then tradestore-bench refused the value naming its own --rate ("== alone: --help writes/s").
    [InlineData("bench-query-isolation.sh", new[] { "fast" }, "bench-query-isolation.sh: RATE must be a whole number of writes per second, 1 or more; got 'fast'")]
    [InlineData("bench-query-isolation.sh", new[] { "200", "0" }, "bench-query-isolation.sh: SECONDS must be a whole number, 1 or more; got '0'")]
    [InlineData("bench-query-isolation.sh", new[] { "200", "30", "x" }, "bench-query-isolation.sh: at most two arguments, RATE and SECONDS (see --help); got 3")]
    public async Task BenchScript_BadArguments_OneLineAndExitTwoBeforeStartingAnything(string script, string[] arguments, string message)
    {
        var (exitCode, output) = await RunAsync(script, arguments, []);

        Assert.True(exitCode == 2, output);
        Assert.Equal(message, output.Trim());
    }

    [Fact]
    public async Task BenchReads_DurationNotANumber_OneLineAndExitTwoBeforeStartingAnything()
    {
        using var output = new TempDirectory("bench-reads-duration");

        // Each HTTP run refused it only after Redis, ClickHouse and the server were up and the trades seeded.
        var (exitCode, text) = await RunAsync("bench-reads.sh", [output.Path], [("DURATION", "20s"), ("TRADES", "1000")]);

        Assert.True(exitCode == 2, text);
        Assert.Equal("bench-reads.sh: DURATION must be a whole number of seconds, 1 or more; got '20s'", text.Trim());
    }

    [Fact]
    public async Task BenchReads_AMeasurementFails_NamedAtTheEndAndExitOne()
    {
        using var output = new TempDirectory("bench-reads");

        // An index run the bench refuses (exit 2); TRADES=0 skips the HTTP runs and their servers.
        var (exitCode, text) = await RunAsync("bench-reads.sh", [output.Path], [("INDEX_TRADES", "many"), ("TRADES", "0")]);

        // It exited 0 after a failed measurement until 2026-12-03 (tradestore-bench index crashed unnoticed).
        Assert.True(exitCode == 1, text);
        Assert.Contains("bench-reads: 2 measurement(s) failed", text, StringComparison.Ordinal);
        Assert.Contains("tradestore-bench index --trades many (exit 2)", text, StringComparison.Ordinal);
        Assert.DoesNotContain("bench-reads: done", text, StringComparison.Ordinal);
    }

    private static Task<(int ExitCode, string Output)> RunAsync(string script, string[] arguments, (string Name, string Value)[] environment) =>
        RepositoryScript.RunAsync(script, arguments, environment, TimeSpan.FromMinutes(5), TestContext.Current.CancellationToken);
}
