using System.Net;
using System.Net.Http.Headers;
using TradeStore.Core.Security;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// From the security probe of session 26: every refused request wrote three or four lines to the log (the documented
/// event 1202, and ASP.NET Core's "ApiKey was not authenticated. Failure message: …", "AuthenticationScheme: ApiKey was
/// challenged." and "… was forbidden." at Information, under TradeStore's own category, which appsettings.json's
/// <c>Microsoft.AspNetCore: Warning</c> did not hold back), so a client without a key wrote ~400 bytes of log per
/// request. Through the real <c>serve</c> with its shipped appsettings.json: one line per refused key, none otherwise.
/// </summary>
public sealed class AuthenticationLogTests : IDisposable
{
    private readonly TempDirectory _work = new("auth-log");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task Serve_RefusedAndForbiddenRequests_OnlyTheRefusedKeyIsLoggedOnce()
    {
        var (readerKey, readerHash) = ApiKeyHash.Generate();
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path, new Dictionary<string, string>
        {
            ["TRADESTORE__SECURITY__APIKEYS__0__NAME"] = "reader",
            ["TRADESTORE__SECURITY__APIKEYS__0__HASH"] = readerHash,
            ["TRADESTORE__SECURITY__APIKEYS__0__ROLE"] = "reader",
        });
        await child.WaitUntilAnsweringAsync($"{url}/health/live", TimeSpan.FromSeconds(60));
        var (otherKey, _) = ApiKeyHash.Generate();
        var readerId = readerHash.Split('$')[1];
        using var http = new HttpClient { BaseAddress = new Uri(url) };

        using var noKey = await http.GetAsync(new Uri("/v1/trades/T-1", UriKind.Relative), TestContext.Current.CancellationToken);
        using var write = new HttpRequestMessage(HttpMethod.Post, "/v1/trades") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", readerKey) } };
        using var forbidden = await http.SendAsync(write, TestContext.Current.CancellationToken);
        using var wrongKey = new HttpRequestMessage(HttpMethod.Get, "/v1/trades/T-2") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "ts_0123456789abcdef_wrong") } };
        using var refused = await http.SendAsync(wrongKey, TestContext.Current.CancellationToken);
        // The configured id with another secret: authenticates as nobody, so it is refused like the unknown one.
        using var wrongSecret = new HttpRequestMessage(HttpMethod.Get, "/v1/trades/T-3") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", $"ts_{readerId}_{otherKey.Split('_', 3)[2]}") } };
        using var refusedToo = await http.SendAsync(wrongSecret, TestContext.Current.CancellationToken);
        // The console logger writes in order: once the last line is out, any line of the requests before it is too.
        await child.WaitForOutputAsync("GET /v1/trades/T-3", TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refusedToo.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        var output = child.Output;
        Assert.Contains("Refused an invalid API key on GET /v1/trades/T-2 from 127.0.0.1", output, StringComparison.Ordinal);
        Assert.DoesNotContain("GET /v1/trades/T-1", output, StringComparison.Ordinal);
        Assert.DoesNotContain("was challenged", output, StringComparison.Ordinal);
        Assert.DoesNotContain("was not authenticated", output, StringComparison.Ordinal);
        Assert.DoesNotContain("was forbidden", output, StringComparison.Ordinal);
    }
}
