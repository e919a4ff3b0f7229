using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Logging;
using TradeStore.Server.Tests.Security;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests;

/// <summary>
/// A query that ran is logged at debug (event 1204) under <c>Security:Query:SlowQueryThreshold</c> and at information
/// (event 1214) from it on: every query at information let a busy analyst flood the log.
/// </summary>
public sealed class QueryLogTests
{
    /// <summary>A small answer (held) and one past 1 MiB (streamed): the two places a query's end is logged.</summary>
    private static readonly string[] Queries =
    [
        """{"sql":"SELECT 42 AS answer"}""",
        """{"sql":"SELECT range AS n, 'padding padding padding' AS p FROM range(100000)"}""",
        """{"sql":"SELECT 43 AS answer"}""",
    ];

    [Fact]
    public async Task Query_FasterThanTheThreshold_LoggedAtDebugOnlyAndNoneAtInformation()
    {
        var lines = await RunQueriesAsync("00:01:00");

        var ran = lines.Where(l => l.Contains("[1204]", StringComparison.Ordinal)).ToList();
        Assert.Equal(Queries.Length, ran.Count);
        Assert.All(ran, line => Assert.StartsWith("Debug ", line, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("[1214]", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("Information TradeStore.Server.Api.QueryEndpoint", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Query_AtOrPastTheThreshold_LoggedAtInformationWithCallerRowsAndThreshold()
    {
        var lines = await RunQueriesAsync("00:00:00");

        var slow = lines.Where(l => l.Contains("[1214]", StringComparison.Ordinal)).ToList();
        Assert.Equal(Queries.Length, slow.Count);
        Assert.All(slow, line => Assert.StartsWith("Information ", line, StringComparison.Ordinal));
        Assert.Contains(slow, l => l.Contains("Slow SQL query by loopback: 1 row(s) in ", StringComparison.Ordinal));
        Assert.Contains(slow, l => l.Contains(": 100000 row(s) in ", StringComparison.Ordinal));
        Assert.All(slow, line => Assert.Contains("at or past Security:Query:SlowQueryThreshold (0ms)", line, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("[1204]", StringComparison.Ordinal));
    }

    private static async Task<List<string>> RunQueriesAsync(string threshold)
    {
        using var directory = new TempDirectory();
        var logs = new CapturingLoggerProvider();
        var environment = new Dictionary<string, string>
        {
            ["TRADESTORE__SECURITY__QUERY__SLOWQUERYTHRESHOLD"] = threshold,
            ["TRADESTORE__SECURITY__QUERY__MAXROWS"] = "1000000",
            // As operations.md says to see event 1204.
            ["TRADESTORE__LOGGING__LOGLEVEL__TradeStore.Server.Api.QueryEndpoint"] = "Debug",
        };
        await using var app = await TestHostFactory.StartAsync(directory.Path, environment, b => b.Logging.AddProvider(logs));
        var api = new ApiClient(app.GetTestClient());
        foreach (var query in Queries)
        {
            var answer = await api.PostAsync("/v1/query", query);
            Assert.True(answer.Code == 200, answer.Raw);
        }

        return [.. logs.Lines];
    }
}
