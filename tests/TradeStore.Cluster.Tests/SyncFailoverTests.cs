using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// Election safety with <c>Cluster:SyncReplicas=1</c> on three real processes (issue #14): the leader is killed with
/// SIGKILL under write load, and every write it acknowledged is readable on the node that leads next. Only a node the
/// <c>sync</c> key names may campaign, and a write is acknowledged only once that node fsynced it. A leader stopped with
/// SIGTERM hands over at once and exits 0.
/// </summary>
public sealed class SyncFailoverTests
{
    private const int SigKill = 9;
    private const int SigTerm = 15;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>How long a SIGTERM'd leader's hand-over may take: generous, and far below the 10 minutes a leader took before the fix.</summary>
    private static readonly TimeSpan HandOver = TimeSpan.FromMinutes(3);
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
        // Waited for by hand, so that a failure shows what the surviving nodes logged.
        var deadline = DateTime.UtcNow + Timeout;
        while (acknowledged.Count < beforeKill + 50 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, ct);
        }

        Assert.True(acknowledged.Count >= beforeKill + 50, $"{acknowledged.Count - beforeKill} writes acknowledged after the kill\n{b.Process.Output}\n{c.Process.Output}");
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

    /// <summary>
    /// SIGTERM to the leader of three nodes with <c>SyncReplicas=1</c> and <c>Server:ShutdownTimeout</c> 10 minutes:
    /// another node acknowledges a write long before that timeout (the leader resigns before its HTTP server drains; it
    /// used to wait out the shutdown timeout for its followers' streams), every write acknowledged before is on it, and the
    /// old leader exits 0 without an unhandled exception (after the drain ran into the timeout, its cancellation escaped
    /// the host's stop).
    /// </summary>
    [Fact]
    public async Task StopLeader_SigTermWithSyncReplicas_AnotherNodeAcknowledgesLongBeforeTheShutdownTimeoutAndTheOldLeaderExitsCleanly()
    {
        var ct = TestContext.Current.CancellationToken;
        var settings = new Dictionary<string, string>
        {
            ["TRADESTORE__CLUSTER__SYNCREPLICAS"] = "1",
            // Far beyond the wait for the hand-over below: the old behaviour (no write acknowledged elsewhere before this
            // timeout ended the followers' streams) fails the test however slow the machine, and no bound on time is needed.
            ["TRADESTORE__SERVER__SHUTDOWNTIMEOUT"] = "00:10:00",
        };
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await using var a = await NodeProcess.StartAsync("a", _prefix, settings);
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        await using var b = await NodeProcess.StartAsync("b", _prefix, settings);
        await using var c = await NodeProcess.StartAsync("c", _prefix, settings);
        var before = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            using var created = await a.CreateTradeAsync(http, $"T-{i}");
            Assert.True(created.StatusCode == HttpStatusCode.Created, $"{created.StatusCode}: {await created.Content.ReadAsStringAsync(ct)}");
            before.Add($"T-{i}");
        }

        // Both followers stream from a (each holds every write), so either may be the one the sync key names.
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Nodes.Count == 3 && s.Nodes.All(n => n.AppliedSeq == 20), Timeout,
            "three nodes registered, each holding the 20 writes");

        var stopped = Stopwatch.StartNew();
        a.Process.Signal(SigTerm);
        string? answeredBy = null;
        var attempt = 0;
        while (answeredBy is null && stopped.Elapsed < HandOver)
        {
            foreach (var node in new[] { b, c })
            {
                try
                {
                    // A follower's 307 to a is followed while it still points there; a answers no-leader or is gone.
                    using var answer = await http.PostAsync($"{node.Url}/v1/trades", NodeProcess.Trade($"AFTER-{attempt++}"), ct);
                    if (answer.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK && answer.RequestMessage!.RequestUri!.Authority != new Uri(a.Url).Authority)
                    {
                        answeredBy = answer.RequestMessage.RequestUri.GetLeftPart(UriPartial.Authority);
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                    // a closed its listener while a follower still redirected to it
                }
            }

            if (answeredBy is null)
            {
                await Task.Delay(50, ct);
            }
        }

        // Waited for, not timed: before the fix a resigned only once Server:ShutdownTimeout (10 minutes here) had ended
        // its followers' streams, so no write could be acknowledged elsewhere within the wait.
        Assert.True(answeredBy is not null,
            $"no node acknowledged a write within {HandOver} after a's SIGTERM (its shutdown timeout is 10 minutes); a's output:\n{a.Process.Output}");
        var exitCode = await a.Process.WaitForExitAsync(Timeout);
        Assert.True(exitCode == 0, $"a exited with code {exitCode}, expected 0; its output:\n{a.Process.Output}");
        Assert.DoesNotContain("Unhandled exception", a.Process.Output);
        Assert.DoesNotContain("[1011]", a.Process.Output); // no shutdown step failed
        Assert.Contains("[7008]", a.Process.Output); // resigned and revoked its lease

        var leader = answeredBy == new Uri(b.Url).GetLeftPart(UriPartial.Authority) ? b : c;
        foreach (var id in before)
        {
            using var read = await http.GetAsync($"{leader.Url}/v1/trades/{id}", ct);
            Assert.True(read.StatusCode == HttpStatusCode.OK, $"{id} acknowledged by a is not on the new leader {leader.Name}: {read.StatusCode}");
        }
    }
}
