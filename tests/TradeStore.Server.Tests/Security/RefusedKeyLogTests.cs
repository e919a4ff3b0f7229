using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Time.Testing;
using TradeStore.Core.Diagnostics;
using TradeStore.Core.Security;
using TradeStore.Server.Security;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Security;

/// <summary>
/// From the log audit of session 37: a client sending an invalid API key 100 times a second wrote 5,900 lines (880 KB) of
/// log a minute, one event 1202 per request, and so could anyone who reaches the port. Now the first refusal is event
/// 1202 and repeats are paced (event 1213 at the 2nd, 4th, 8th, … refusal, then once a minute), each with the count.
/// </summary>
public sealed class RefusedKeyLogTests : IAsyncDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly CapturingLoggerProvider _logs = new();

    public async ValueTask DisposeAsync()
    {
        _directory.Dispose();
        await ValueTask.CompletedTask;
    }

    [Fact]
    public async Task InvalidKeyRepeated_LoggedAtDoublingCountsWithTheCount_NotOncePerRequest()
    {
        var (_, hash) = ApiKeyHash.Generate();
        var environment = new Dictionary<string, string>
        {
            ["TRADESTORE__SECURITY__APIKEYS__0__NAME"] = "admin",
            ["TRADESTORE__SECURITY__APIKEYS__0__HASH"] = hash,
            ["TRADESTORE__SECURITY__APIKEYS__0__ROLE"] = ApiRoles.Admin,
            ["TRADESTORE__SECURITY__REQUESTSPERSECOND"] = "0",
        };
        await using var app = await TestHostFactory.StartAsync(_directory.Path, environment, builder => builder.Logging.AddProvider(_logs));
        var (wrong, _) = ApiKeyHash.Generate();
        using var http = app.GetTestServer().CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", wrong);

        for (var i = 1; i <= 100; i++)
        {
            using var response = await http.GetAsync(new Uri($"/v1/trades/T-{i}", UriKind.Relative), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        var first = Assert.Single(_logs.Lines, l => l.Contains("[1202]", StringComparison.Ordinal));
        Assert.Contains("Refused an invalid API key on GET /v1/trades/T-1 from", first, StringComparison.Ordinal);
        var repeats = _logs.Lines.Where(l => l.Contains("[1213]", StringComparison.Ordinal)).ToList();
        // The 2nd, 4th, …, 64th refusal (a minute apart the 100th would be one more; the loop takes far less here).
        Assert.InRange(repeats.Count, 6, 7);
        Assert.Contains(repeats, l => l.Contains("Refused invalid API keys again: 64 in ", StringComparison.Ordinal)
                                      && l.Contains("the last on GET /v1/trades/T-64 from", StringComparison.Ordinal));
        Assert.DoesNotContain(_logs.Lines, l => l.Contains(wrong, StringComparison.Ordinal));
    }
    /// <summary>
    /// Regression: one pace for the whole host, so while one client was refused 100 times a second, a refusal from a second
    /// address fell between two paced lines and its address was never logged.
    /// </summary>
    [Fact]
    public void BusyAddressRefusedOverAndOver_ASecondAddressStillGetsItsOwnFirstLine()
    {
        var time = new FakeTimeProvider();
        var log = new RefusedKeyLog(time);
        var logger = _logs.CreateLogger("refusals");
        for (var i = 1; i <= 100; i++)
        {
            log.Refused(logger, "GET", $"/v1/trades/T-{i}", "10.0.0.1");
            time.Advance(TimeSpan.FromMilliseconds(10));
        }

        log.Refused(logger, "POST", "/v1/trades", "10.0.0.2");

        var firsts = _logs.Lines.Where(l => l.Contains("[1202]", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, firsts.Count);
        Assert.Contains("Refused an invalid API key on POST /v1/trades from 10.0.0.2", firsts[1], StringComparison.Ordinal);
        Assert.All(_logs.Lines.Where(l => l.Contains("[1213]", StringComparison.Ordinal)), l => Assert.Contains("from 10.0.0.1", l, StringComparison.Ordinal));
    }

    [Fact]
    public void ManyAddresses_PastTheMostPacedApart_ShareOnePaceUntilTheirRunsEnd()
    {
        var time = new FakeTimeProvider();
        var log = new RefusedKeyLog(time);
        var logger = _logs.CreateLogger("refusals");
        var addresses = RefusedKeyLog.MaxSources + 100;
        for (var i = 0; i < addresses; i++)
        {
            log.Refused(logger, "GET", "/v1/positions", $"10.0.{i / 256}.{i % 256}");
        }

        // One line for each address paced apart, then one pace for the 100 beyond: its first line and its repeats at the
        // 2nd, 4th, …, 64th refusal.
        Assert.Equal(RefusedKeyLog.MaxSources + 1, _logs.Lines.Count(l => l.Contains("[1202]", StringComparison.Ordinal)));
        Assert.Equal(6, _logs.Lines.Count(l => l.Contains("[1213]", StringComparison.Ordinal)));

        // A minute without refusals ends every run: a new address is paced apart again.
        time.Advance(RepeatPacer.DefaultInterval);
        log.Refused(logger, "GET", "/v1/positions", "10.9.9.9");
        Assert.Contains(_logs.Lines, l => l.Contains("[1202]", StringComparison.Ordinal) && l.Contains("from 10.9.9.9", StringComparison.Ordinal));
        Assert.Equal(RefusedKeyLog.MaxSources + 2, _logs.Lines.Count(l => l.Contains("[1202]", StringComparison.Ordinal)));
    }
}
