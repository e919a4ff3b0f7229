using System.Net;
using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// A cluster node whose disk fills up (a real tmpfs, <see cref="SmallDisk"/>). A leader whose disk fills up (a real tmpfs, <see cref="SmallDisk"/>) with <c>SyncReplicas=1</c> and two healthy
/// followers: it gives up its leadership (event 7028) so that a follower holding every acknowledged write leads, and once
/// its disk has room again it follows that leader and catches up. It used to keep the leader key and answer every write
/// <c>500 storage-failure</c> for as long as its disk was full, while the followers could have taken over.
/// </summary>
public sealed class DiskFullTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    [Fact]
    public async Task DiskFull_OnTheSyncLeader_AFollowerLeadsWithEveryAcknowledgedWriteAndTheOldLeaderFollowsOnceItHasRoom()
    {
        var ct = TestContext.Current.CancellationToken;
        using var disk = SmallDisk.Mount(megabytes: 64);
        var settings = new Dictionary<string, string>
        {
            ["TRADESTORE__CLUSTER__SYNCREPLICAS"] = "1",
            ["TRADESTORE__STORAGE__JOURNALSEGMENTBYTES"] = "1048576", // two segments of 1 MiB on the small disk, not 2 × 64 MiB
        };
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await using var a = await NodeProcess.StartAsync("a", _prefix, settings, dataDirectory: disk.Path);
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        await using var b = await NodeProcess.StartAsync("b", _prefix, settings);
        await using var c = await NodeProcess.StartAsync("c", _prefix, settings);
        var acknowledged = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            using var created = await a.CreateTradeAsync(http, $"T-{i}");
            Assert.True(created.StatusCode == HttpStatusCode.Created, $"{created.StatusCode}: {await created.Content.ReadAsStringAsync(ct)}");
            acknowledged.Add($"T-{i}");
        }

        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Nodes.Count == 3 && s.Nodes.All(n => n.AppliedSeq == 20), Timeout,
            "three nodes registered, each holding the 20 writes");

        disk.Fill();
        // Writes go to b, which redirects to whoever leads: a (refusing them while its disk is full) until another node does.
        NodeProcess? leader = null;
        var refused = 0;
        var deadline = DateTime.UtcNow + Timeout;
        for (var i = 0; leader is null && DateTime.UtcNow < deadline; i++)
        {
            using var answer = await http.PostAsync($"{b.Url}/v1/trades", NodeProcess.Trade($"FULL-{i}"), ct);
            var by = answer.RequestMessage!.RequestUri!.Authority;
            if (answer.StatusCode == HttpStatusCode.Created)
            {
                acknowledged.Add($"FULL-{i}");
                leader = by == new Uri(b.Url).Authority ? b : by == new Uri(c.Url).Authority ? c : null;
            }
            else
            {
                refused++;
                await Task.Delay(50, ct);
            }
        }

        Assert.True(leader is not null,
            $"no node but a acknowledged a write within {Timeout} of a's disk filling up ({refused} writes refused); a's output:\n{a.Process.Output}");
        await a.Process.WaitForOutputAsync("[7028]", Timeout); // gave the term up for its storage
        foreach (var id in acknowledged)
        {
            using var read = await http.GetAsync($"{leader.Url}/v1/trades/{id}", ct);
            Assert.True(read.StatusCode == HttpStatusCode.OK, $"{id}, acknowledged, is not on the new leader {leader.Name}: {read.StatusCode}");
        }

        // With room again, a follows the new leader and holds what it acknowledged.
        disk.Empty();
        var seq = (await leader.ClusterAsync(http)).Nodes.Single(n => n.Name == leader.Name).AppliedSeq;
        await Eventually.MatchAsync(() => leader.ClusterAsync(http), s => s.Leader == leader.Name && s.Nodes.Single(n => n.Name == "a") is { Role: "follower" } node && node.AppliedSeq >= seq,
            Timeout, $"a follows {leader.Name} and holds seq {seq}");
    }

    /// <summary>
    /// A follower whose disk fills up cannot append the leader's stream: readiness says so (<c>duckdb</c> unhealthy with
    /// "No space left on device", 503) until it has room again, then it is ready and catches up. It used to answer 200
    /// <c>healthy</c> throughout while its stream broke on every chunk and its lag grew.
    /// </summary>
    [Fact]
    public async Task DiskFull_OnAFollower_ReadinessIsUnhealthyNamingTheDiskUntilItHasRoomThenItCatchesUp()
    {
        var ct = TestContext.Current.CancellationToken;
        using var disk = SmallDisk.Mount(megabytes: 64);
        var settings = new Dictionary<string, string>
        {
            ["TRADESTORE__CLUSTER__SYNCREPLICAS"] = "1",
            ["TRADESTORE__STORAGE__JOURNALSEGMENTBYTES"] = "1048576",
        };
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await using var a = await NodeProcess.StartAsync("a", _prefix, settings);
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        await using var b = await NodeProcess.StartAsync("b", _prefix, settings);
        await using var c = await NodeProcess.StartAsync("c", _prefix, settings, dataDirectory: disk.Path);
        using (var first = await a.CreateTradeAsync(http, "T-0"))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        }

        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Nodes.Count == 3 && s.Nodes.All(n => n.AppliedSeq == 1), Timeout, "c holds the first write");

        disk.Fill();
        var written = 1;
        var unready = await Eventually.MatchAsync(async () =>
        {
            // Writes keep flowing (b is the other follower), so c has records to refuse.
            using (var created = await http.PostAsync($"{a.Url}/v1/trades", NodeProcess.Trade($"T-{written}"), ct))
            {
                written += created.StatusCode == HttpStatusCode.Created ? 1 : 0;
            }

            using var ready = await http.GetAsync($"{c.Url}/health/ready", ct);
            return ((int)ready.StatusCode, await ready.Content.ReadAsStringAsync(ct));
        }, r => r.Item1 == 503, Timeout, "c's readiness reports its full disk");
        Assert.Contains("No space left on device", unready.Item2);

        disk.Empty();
        await Eventually.MatchAsync(async () =>
        {
            using var ready = await http.GetAsync($"{c.Url}/health/ready", ct);
            return (int)ready.StatusCode;
        }, status => status == 200, Timeout, "c is ready again once its disk has room");
        var seq = (await a.ClusterAsync(http)).Nodes.Single(n => n.Name == "a").AppliedSeq;
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Nodes.Single(n => n.Name == "c").AppliedSeq >= seq, Timeout, $"c catches up to seq {seq}");
    }
}
