using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using TradeStore.Core.Security;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// From the log audit of session 37: .NET's health-check service logged every check that was not healthy (event 103 of
/// <c>DefaultHealthCheckService</c>, a warning when degraded, an error when unhealthy) each time readiness was asked
/// for and at each metrics publication (every 15 s): with Redis away, a load balancer polling <c>/health/ready</c>
/// every second wrote a line a second beside the projector's own, paced ones. The readiness answer and
/// <c>tradestore_health_status</c> carry that state; through the real <c>serve</c> with its shipped appsettings.json,
/// asking for readiness writes nothing to the log.
/// </summary>
public sealed class HealthCheckLogTests : IDisposable
{
    private readonly TempDirectory _work = new("health-log");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task Serve_RedisAway_ReadinessAskedRepeatedly_NoHealthCheckServiceLines()
    {
        var (_, hash) = ApiKeyHash.Generate();
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path, new Dictionary<string, string>
        {
            ["TRADESTORE__REDIS__CONNECTION"] = $"127.0.0.1:{FreePort.Next()}", // nothing listens there
            ["TRADESTORE__SECURITY__APIKEYS__0__NAME"] = "reader",
            ["TRADESTORE__SECURITY__APIKEYS__0__HASH"] = hash,
            ["TRADESTORE__SECURITY__APIKEYS__0__ROLE"] = "reader",
        });
        await child.WaitUntilAnsweringAsync($"{url}/health/live", TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = new Uri(url) };

        var answers = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var ready = await http.GetAsync(new Uri("/health/ready", UriKind.Relative), TestContext.Current.CancellationToken);
            answers.Add(await ready.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }

        // A line logged after the readiness requests: the console logger writes in order, so once it is out, any line
        // the requests caused is too.
        using var wrongKey = new HttpRequestMessage(HttpMethod.Get, "/v1/trades/T-sentinel") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "ts_0123456789abcdef_wrong") } };
        using var refused = await http.SendAsync(wrongKey, TestContext.Current.CancellationToken);
        await child.WaitForOutputAsync("GET /v1/trades/T-sentinel", TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        // Each answer said Redis was not healthy: the checks ran and found something to log.
        Assert.All(answers, answer => Assert.NotEqual("healthy",
            JsonDocument.Parse(answer).RootElement.GetProperty("dependencies").GetProperty("redis").GetProperty("status").GetString()));
        Assert.DoesNotContain("DefaultHealthCheckService", child.Output, StringComparison.Ordinal);
    }
}
