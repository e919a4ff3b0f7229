using System.Collections.Concurrent;
using System.Net;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// Election safety with <c>Cluster:SyncReplicas=1</c> on three real processes (issue #14): the leader is killed with
/// SIGKILL under write load, and every write it acknowledged is readable on the node that leads next. Only a node the
/// <c>sync</c> key names may campaign, and a write is acknowledged only once that node fsynced it.
/// </summary>
public sealed class SyncFailoverTests
{
    private const int SigKill = 9;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    [Fact]
    public async Task KillLeader_UnderLoadWithSyncReplicas_EveryAcknowledgedTradeIsOnTheNewLeader()
    {
        var ct = TestContext.Current.CancellationToken;
        var sync = new Dictionary<string, string> { ["TRADESTORE__CLUSTER__SYNCREPLICAS"] = "1" };
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await using var a = await NodeProcess.StartAsync("a", _prefix, sync);
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        await using var b = await NodeProcess.StartAsync("b", _prefix, sync);
        await using var c = await NodeProcess.StartAsync("c", _prefix, sync);

        var acknowledged = new ConcurrentBag<string>();
        var targets = new[] { a, b, c };
        var killed = 0;
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var id = $"K-{w}-{i}";
                var node = targets[(w + i) % 3];
                if (node == a && Volatile.Read(ref killed) == 1)
                {
                    node = b;
                }

                try
                {
                    // Follows the 307 of a follower with the same body.
                    using var answer = await http.PostAsync($"{node.Url}/v1/trades", NodeProcess.Trade(id), CancellationToken.None);
                    if (answer.StatusCode == HttpStatusCode.Created)
                    {
                        acknowledged.Add(id);
                    }
                    else
                    {
                        await Task.Delay(50, CancellationToken.None);
                    }
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(50, CancellationToken.None);
                }
            }
        }, CancellationToken.None)).ToArray();

        await Eventually.TrueAsync(() => acknowledged.Count >= 150, Timeout, "150 writes acknowledged before the kill");
        a.Process.Signal(SigKill);
        Volatile.Write(ref killed, 1);
        var beforeKill = acknowledged.Count;
        var status = await Eventually.MatchAsync(() => b.ClusterAsync(http), s => s.Leader is "b" or "c", Timeout, "b or c leads after the kill");
        await Eventually.TrueAsync(() => acknowledged.Count >= beforeKill + 50, Timeout, "50 more writes acknowledged by the new leader");
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        var leader = status.Leader == "b" ? b : c;
        var missing = new List<string>();
        foreach (var id in acknowledged)
        {
            using var read = await http.GetAsync($"{leader.Url}/v1/trades/{id}", ct);
            if (read.StatusCode != HttpStatusCode.OK)
            {
                missing.Add(id);
            }
        }

        Assert.True(missing.Count == 0, $"{missing.Count} of {acknowledged.Count} acknowledged trades are not on the new leader {leader.Name}: {string.Join(", ", missing.Take(20))}\n{leader.Process.Output}");
        Assert.Contains("[7015]", a.Process.Output); // a wrote its synchronous replica to etcd before counting it
    }
}
