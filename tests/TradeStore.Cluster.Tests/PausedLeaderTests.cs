using System.Net;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// A leader process stopped with SIGSTOP past its lease (default <c>Cluster:LeaseTtl</c>), then resumed: a write that
/// reached it while it was stopped is not acknowledged and not applied, and the old leader steps down to follow the
/// new one. The pause is detected by the monotonic lease clock, before the node has talked to etcd again.
/// </summary>
public sealed class PausedLeaderTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    [Fact]
    public async Task SigStop_LeaderPausedPastItsLease_AcknowledgesNothingAfterwardsAndFollowsTheNewLeader()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(90) };
        await using var a = await NodeProcess.StartAsync("a", _prefix);
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        await using var b = await NodeProcess.StartAsync("b", _prefix);
        await Eventually.MatchAsync(() => http.PostAsync($"{b.Url}/v1/trades", NodeProcess.Trade("P-0"), TestContext.Current.CancellationToken),
            r => r.StatusCode == HttpStatusCode.TemporaryRedirect, Timeout, "b redirects to a");
        var oldTerm = (await a.ClusterAsync(http)).Term;

        // Only a write sent after every thread stopped "reached it while stopped" (PauseAsync waits for that).
        await a.Process.PauseAsync(Timeout);
        Task<HttpResponseMessage> pending;
        try
        {
            // Accepted by the kernel while a is stopped; a reads it only when it runs again.
            pending = http.PostAsync($"{a.Url}/v1/trades", NodeProcess.Trade("P-1"), TestContext.Current.CancellationToken);
            var status = await Eventually.MatchAsync(() => b.ClusterAsync(http), s => s.Leader == "b", Timeout, "b leads once a's lease expired");
            Assert.True(status.Term > oldTerm);
        }
        finally
        {
            a.Process.Resume();
        }

        using var answer = await pending;
        Assert.False(answer.IsSuccessStatusCode, $"a acknowledged a write after its lease expired: {(int)answer.StatusCode}\n{a.Process.Output}");
        Assert.Contains(answer.StatusCode, new[] { HttpStatusCode.ServiceUnavailable, HttpStatusCode.TemporaryRedirect });
        using var onA = await http.GetAsync($"{a.Url}/v1/trades/P-1", TestContext.Current.CancellationToken);
        Assert.True(onA.StatusCode == HttpStatusCode.NotFound, $"a applied a write that reached it while stopped: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}\n{a.Process.Output}");

        // a steps down and sends writes to b.
        using var redirected = await Eventually.MatchAsync(() => http.PostAsync($"{a.Url}/v1/trades", NodeProcess.Trade("P-2"), TestContext.Current.CancellationToken),
            r => r.StatusCode == HttpStatusCode.TemporaryRedirect, Timeout, "a redirects to b");
        Assert.Equal(new Uri($"{b.Url}/v1/trades"), redirected.Headers.Location);
        // a registers again on a new lease (its old one expired with it).
        var view = await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Nodes.Any(n => n.Name == "a" && n.IsLive), Timeout, "a registered again");
        Assert.Equal("b", view.Leader);
        Assert.Equal("follower", view.Nodes.Single(n => n.Name == "a").Role);
        await a.Process.WaitForOutputAsync("[7005]", Timeout); // "stopped acknowledging writes"
    }
}
