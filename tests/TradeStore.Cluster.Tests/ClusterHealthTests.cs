using System.Net;
using System.Text.Json;
using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// Readiness of a cluster node names its leadership: healthy while it leads or follows, degraded (still ready) without a
/// leader, or while it leads with fewer synchronous followers than <c>Cluster:SyncReplicas</c>.
/// </summary>
public sealed class ClusterHealthTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _prefix = $"/health-{Guid.NewGuid():N}/";

    [Fact]
    public async Task Readiness_LeaderHealthyAndANodeWithoutEtcdDegradedButStillReady()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await using var leader = await NodeProcess.StartAsync("a", _prefix);
        await Eventually.MatchAsync(() => leader.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        // Nothing listens on this port: the node never reaches etcd, so it knows no leader.
        await using var cutOff = await NodeProcess.StartAsync("b", _prefix,
            new Dictionary<string, string> { ["TRADESTORE__CLUSTER__ETCD"] = $"http://127.0.0.1:{FreePort.Next()}" });

        var (leaderCode, leaderCluster) = await ReadinessAsync(http, leader.Url);
        var (cutOffCode, cutOffCluster) = await ReadinessAsync(http, cutOff.Url);

        Assert.Equal(HttpStatusCode.OK, leaderCode);
        Assert.Equal("healthy", leaderCluster.GetProperty("status").GetString());
        Assert.Contains("a leads", leaderCluster.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, cutOffCode);
        Assert.Equal("degraded", cutOffCluster.GetProperty("status").GetString());
        Assert.Contains("no leader", cutOffCluster.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// A leader with <c>SyncReplicas=1</c> and no follower cannot acknowledge any write (each answers 503
    /// replication-unavailable): its readiness says so, degraded (still 200) with how many synchronous followers it has
    /// and needs, healthy once one follows, and degraded again once that one is killed. It used to say healthy throughout.
    /// </summary>
    [Fact]
    public async Task Readiness_SyncLeaderWithTooFewFollowers_DegradedSayingHowManyItHasAndNeeds()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var sync = new Dictionary<string, string> { ["TRADESTORE__CLUSTER__SYNCREPLICAS"] = "1" };
        await using var a = await NodeProcess.StartAsync("a", _prefix, sync);
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");

        // Waited for, not read once: on a loaded machine a lease renewal can lapse and the node be between terms, when
        // readiness rightly says it knows no leader (seen once in a CI run with two extra busy loops).
        var (alone, aloneCluster) = await Eventually.MatchAsync(() => ReadinessAsync(http, a.Url), r => SaysSyncFollowersMissing(r.Cluster), Timeout,
            "a, leading alone, degraded for want of a synchronous follower");
        Assert.Equal(HttpStatusCode.OK, alone);
        Assert.Equal("degraded", aloneCluster.GetProperty("status").GetString());
        Assert.Contains("has 0 synchronous follower(s) connected and needs 1", aloneCluster.GetProperty("description").GetString(), StringComparison.Ordinal);

        await using var b = await NodeProcess.StartAsync("b", _prefix, sync);
        var followed = await Eventually.MatchAsync(async () => (await ReadinessAsync(http, a.Url)).Cluster, c => c.GetProperty("status").GetString() == "healthy", Timeout,
            "a healthy once b follows");
        Assert.Contains("1 synchronous follower(s) connected, 1 needed", followed.GetProperty("description").GetString(), StringComparison.Ordinal);

        await b.KillAsync();
        var lost = await Eventually.MatchAsync(async () => (await ReadinessAsync(http, a.Url)).Cluster, SaysSyncFollowersMissing, Timeout,
            "a degraded again once b is killed");
        Assert.Contains("has 0 synchronous follower(s) connected and needs 1", lost.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// A rolling upgrade with <c>SyncReplicas=1</c> where the only follower still runs a build from before data-directory
    /// identities (2026-12-02): it streams and applies every record but names no incarnation, so its acknowledgements are
    /// refused and every write answers 503. Seen with a real build of 2026-12-01 (8b6ee93): the leader said nothing, its
    /// readiness said "0 synchronous follower(s) connected" while /v1/cluster showed the follower at the leader's seq, and
    /// the old follower retried its refused acknowledgements silently. The requests here are exactly that build's: its
    /// stream request and its acknowledgement request carry no incarnation. The leader now logs 1319 naming the follower,
    /// names it in readiness, and the 400 tells the follower to upgrade.
    /// </summary>
    [Fact]
    public async Task Readiness_SyncLeaderWhoseOnlyFollowerIsABuildWithoutIncarnation_NamesItAndLogs1319()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await using var a = await NodeProcess.StartAsync("a", _prefix, new Dictionary<string, string> { ["TRADESTORE__CLUSTER__SYNCREPLICAS"] = "1" });
        // A stream belongs to the term it was opened in: should a lease renewal lapse on a loaded machine and a take up a new
        // term, a ends it and readiness rightly names nobody (a CI run waited out its minute with old-b never named, most
        // likely so). Opened again when a has left the stream's term or logged its end (event 1311).
        for (var attempt = 1; ; attempt++)
        {
            var term = (await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads")).Term;
            using var stream = await OpenStreamWithoutIncarnationAsync(http, a.Url, term);
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);

            // Its acknowledgements: no incarnation in the query.
            using var acks = await http.PostAsync($"{a.Url}/v1/replication/acks?node=old-b&term={term}", new ByteArrayContent(new byte[8]), ct);
            Assert.Equal(HttpStatusCode.BadRequest, acks.StatusCode);
            var problem = JsonDocument.Parse(await acks.Content.ReadAsStringAsync(ct)).RootElement;
            Assert.Equal("incarnation", problem.GetProperty("field").GetString());
            Assert.Contains("upgrade it", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

            await Eventually.TrueAsync(() => a.Process.Output.Contains("[1319]", StringComparison.Ordinal), Timeout, "a logs 1319 for old-b");
            var logged = a.Process.Output.Split('\n').First(line => line.Contains("[1319]", StringComparison.Ordinal));
            Assert.Contains("follower old-b streams", logged, StringComparison.Ordinal);
            Assert.Contains("never count toward Cluster:SyncReplicas", logged, StringComparison.Ordinal);

            // Waited for: the log line and readiness's list of unidentified followers are written apart, and a loaded CI
            // machine once read readiness between the two.
            var (code, cluster) = await Eventually.MatchAsync(() => ReadinessAsync(http, a.Url),
                r => NamesOldB(r.Cluster) || !r.Cluster.GetProperty("description").GetString()!.Contains($" term {term} ", StringComparison.Ordinal)
                    || a.Process.Output.Split('\n').Any(line => line.Contains("the stream to follower old-b ended", StringComparison.Ordinal) && line.Contains($"(term {term})", StringComparison.Ordinal)),
                Timeout, "a's readiness names old-b, or a has left the stream's term or ended the stream");
            if (!NamesOldB(cluster))
            {
                Assert.True(attempt < 3, $"a left its term or ended old-b's stream three times: {cluster}\n{a.Process.Output}");
                continue;
            }

            await AssertNamedThenForgottenAsync(http, a.Url, stream, code, cluster);
            break;
        }
    }

    private static async Task<HttpResponseMessage> OpenStreamWithoutIncarnationAsync(HttpClient http, string url, long term) =>
        // The stream request of a build from 2026-12-01: node, term and its last record, no incarnation. Sent again while
        // a answers 503 no-leader: etcd names it leader a moment before it has taken up its term (one CI run met that).
        (await Eventually.MatchAsync(async () =>
            {
                using var streamRequest = new HttpRequestMessage(HttpMethod.Post, $"{url}/v1/replication/stream")
                {
                    Content = new StringContent($$"""{"node":"old-b","term":{{term}},"fromSeq":1,"prevSeq":0,"prevTerm":0}""", System.Text.Encoding.UTF8, "application/json"),
                };
                var answer = await http.SendAsync(streamRequest, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
                if (answer.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    return answer;
                }

                answer.Dispose();
                return null;
            }, answer => answer is not null, Timeout, "a accepts old-b's stream"))!;

    private static bool NamesOldB(JsonElement cluster) =>
        cluster.GetProperty("description").GetString()!.Contains("without a data-directory identity", StringComparison.Ordinal);

    /// <summary>Readiness names old-b while its stream is open, and no longer once it ends.</summary>
    private static async Task AssertNamedThenForgottenAsync(HttpClient http, string url, HttpResponseMessage stream, HttpStatusCode code, JsonElement cluster)
    {
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("degraded", cluster.GetProperty("status").GetString());
        var description = cluster.GetProperty("description").GetString();
        Assert.Contains("has 0 synchronous follower(s) connected and needs 1", description, StringComparison.Ordinal);
        Assert.Contains("without a data-directory identity", description, StringComparison.Ordinal);
        Assert.EndsWith(": old-b", description, StringComparison.Ordinal);

        // Once its stream ends it is no longer named.
        stream.Dispose();
        var after = await Eventually.MatchAsync(async () => (await ReadinessAsync(http, url)).Cluster,
            c => !c.GetProperty("description").GetString()!.Contains("old-b", StringComparison.Ordinal), Timeout, "old-b no longer named once its stream ended");
        Assert.Equal("degraded", after.GetProperty("status").GetString());
    }

    /// <summary>Degraded because it leads with too few synchronous followers (and not, say, because it knows no leader).</summary>
    private static bool SaysSyncFollowersMissing(JsonElement cluster) =>
        cluster.GetProperty("status").GetString() == "degraded"
        && cluster.GetProperty("description").GetString()!.Contains("synchronous follower(s) connected and needs", StringComparison.Ordinal);

    private static async Task<(HttpStatusCode Code, JsonElement Cluster)> ReadinessAsync(HttpClient http, string url)
    {
        using var answer = await http.GetAsync($"{url}/health/ready", TestContext.Current.CancellationToken);
        var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        return (answer.StatusCode, body.GetProperty("dependencies").GetProperty("cluster").Clone());
    }
}
