using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using TradeStore.Core.Security;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// Who may use the replication endpoints when API keys are configured: an admin key for every account (the follower's
/// <c>Cluster:ReplicationKey</c>). An admin key scoped to accounts is refused, since the stream holds every account's
/// trades and an acknowledgement speaks for a copy of all of them.
/// </summary>
public sealed class ReplicationAccessTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    [Fact]
    public async Task ReplicationEndpoints_AdminKeyScopedToAnAccount_ForbiddenWhileTheUnscopedAdminKeyPasses()
    {
        var ct = TestContext.Current.CancellationToken;
        var (everyAccount, everyAccountHash) = ApiKeyHash.Generate();
        var (scoped, scopedHash) = ApiKeyHash.Generate();
        var keys = new Dictionary<string, string>
        {
            ["TRADESTORE__SECURITY__APIKEYS__0__NAME"] = "replicator",
            ["TRADESTORE__SECURITY__APIKEYS__0__ROLE"] = "admin",
            ["TRADESTORE__SECURITY__APIKEYS__0__HASH"] = everyAccountHash,
            ["TRADESTORE__SECURITY__APIKEYS__1__NAME"] = "desk-a-admin",
            ["TRADESTORE__SECURITY__APIKEYS__1__ROLE"] = "admin",
            ["TRADESTORE__SECURITY__APIKEYS__1__HASH"] = scopedHash,
            ["TRADESTORE__SECURITY__APIKEYS__1__ACCOUNTS__0"] = "ACC-A",
            ["TRADESTORE__CLUSTER__REPLICATIONKEY"] = everyAccount,
        };
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", everyAccount);
        await using var a = await NodeProcess.StartAsync("a", _prefix, keys);
        var term = (await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads")).Term;

        var acks = $"{a.Url}/v1/replication/acks?node=x&incarnation=0123456789abcdef0123456789abcdef&term={term}";
        var stream = $"{a.Url}/v1/replication/stream";
        var streamBody = $$"""{"node":"x","incarnation":"0123456789abcdef0123456789abcdef","term":{{term}},"fromSeq":1}""";
        foreach (var (url, body) in new[] { (acks, ""), (stream, streamBody) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", scoped);
            using var refused = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);

            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            var problem = await refused.Content.ReadFromJsonAsync<JsonElement>(ct);
            Assert.Equal("urn:tradestore:problem:forbidden", problem.GetProperty("type").GetString());
            Assert.Contains("scoped to accounts cannot replicate", problem.GetProperty("detail").GetString());
        }

        // The same acknowledgement with the unscoped admin key reaches the endpoint: an empty body ends it (204). Sent
        // again while a's term has ended for a moment (503: a renewal late on a loaded machine stops a's streams, and a
        // new term may follow); a key refused would be 403 every time.
        var passed = await Eventually.MatchAsync(async () =>
        {
            var now = (await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads")).Term;
            using var answer = await http.PostAsync(acks.Replace($"&term={term}", $"&term={now}", StringComparison.Ordinal), new ByteArrayContent([]), ct);
            return answer.StatusCode;
        }, status => status is not HttpStatusCode.ServiceUnavailable and not HttpStatusCode.Conflict, Timeout, "the unscoped admin key's acknowledgement answered");
        Assert.Equal(HttpStatusCode.NoContent, passed);
    }
}
