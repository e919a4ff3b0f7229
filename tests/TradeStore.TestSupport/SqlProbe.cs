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
        var (response, text) = await RetryAfter.SendAsync(http,
            () => new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(System.Text.Json.JsonSerializer.Serialize(new { sql }), Encoding.UTF8, "application/json") },
            RetriedProblems, patience ?? TimeSpan.FromSeconds(60));
        using (response)
        {
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST {url}: {(int)response.StatusCode} {text}");
            return text;
        }
    }
}
