using System.Net;
using Xunit;

namespace TradeStore.TestSupport;

/// <summary>
/// A request sent again, as a client honouring <c>Retry-After</c> does, while the server answers <c>503</c> with one
/// of the given problem types. Waits at most 2 s between attempts: tests check what a server converges on, not how fast.
/// </summary>
public static class RetryAfter
{
    private static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Sends the request <paramref name="request"/> makes (a new one each attempt) until the answer is not a retried 503
    /// or <paramref name="patience"/> has passed; returns the last answer with its body read.
    /// </summary>
    public static async Task<(HttpResponseMessage Response, string Body)> SendAsync(
        HttpClient http, Func<HttpRequestMessage> request, IReadOnlyCollection<string> retriedProblems, TimeSpan patience)
    {
        var ct = TestContext.Current.CancellationToken;
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            using var message = request();
            var response = await http.SendAsync(message, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            var retried = response.StatusCode == HttpStatusCode.ServiceUnavailable && retriedProblems.Any(type => body.Contains(type, StringComparison.Ordinal));
            if (!retried || DateTime.UtcNow > deadline)
            {
                return (response, body);
            }

            var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromMilliseconds(250);
            response.Dispose();
            await Task.Delay(wait < LongestWait ? wait : LongestWait, ct);
        }
    }
}
