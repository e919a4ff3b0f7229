using System.Net;
using System.Text;
using Xunit;

namespace TradeStore.TestSupport;

/// <summary>
/// <c>POST /v1/query</c> as a test's probe of what a server holds: asked again, as a client honouring <c>Retry-After</c>
/// does, while it answers <c>503 seq-not-reached</c> (DuckDB applied behind the log trailed <c>?minSeq=</c>'s wait) or
/// <c>503 query-starved</c> (queries run at nice 19, and a CI run at full load left one waiting for the CPU for its
/// whole timeout). What such tests check is what the server converges on, not how fast.
/// </summary>
public static class SqlProbe
{
    private static readonly string[] RetriedProblems = ["urn:tradestore:problem:seq-not-reached", "urn:tradestore:problem:query-starved"];

    /// <summary>The JSON answer to <paramref name="sql"/> at <paramref name="url"/>; fails the test on any other answer than 200.</summary>
    public static async Task<string> QueryAsync(HttpClient http, string url, string sql, TimeSpan? patience = null)
    {
        var deadline = DateTime.UtcNow + (patience ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            using var body = new StringContent(System.Text.Json.JsonSerializer.Serialize(new { sql }), Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(url, body, TestContext.Current.CancellationToken);
            var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            var retried = response.StatusCode == HttpStatusCode.ServiceUnavailable && RetriedProblems.Any(type => text.Contains(type, StringComparison.Ordinal));
            if (!retried || DateTime.UtcNow > deadline)
            {
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST {url}: {(int)response.StatusCode} {text}");
                return text;
            }

            var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromMilliseconds(250);
            await Task.Delay(wait < TimeSpan.FromSeconds(2) ? wait : TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        }
    }
}
