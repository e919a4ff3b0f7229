using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary><c>tradestore-bench failover</c> against the test etcd: the leader is killed and a write is acknowledged again.</summary>
public sealed class FailoverBenchTests
{
    [Fact]
    public async Task BenchFailover_TwoNodesOneKill_PrintsTheSampleAndThePercentiles()
    {
        using var directory = new TempDirectory("bench-failover");
        // The bench's and its nodes' temporary files go under TMPDIR: a folder of this test's own, to look into afterwards.
        var temp = Directory.CreateDirectory(Path.Combine(directory.Path, "tmp")).FullName;

        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(["failover", "--etcd", TestServers.Etcd, "--nodes", "2", "--kills", "1"], directory.Path,
            new Dictionary<string, string> { ["TMPDIR"] = temp }, timeout: TimeSpan.FromMinutes(4));

        Assert.True(exitCode == 0, output);
        Assert.Contains("kill  1: node", output);
        Assert.Contains("over 1 kills", output);
        // The nodes' members, history and sync records outlive their leases; every run left them in etcd until 2026-12-05.
        var prefix = Assert.Single(Regex.Matches(output, @"keys under (/bench-failover-[0-9a-f]{32}/), deleted at the end")).Groups[1].Value;
        Assert.Equal(0, await CountKeysAsync(prefix));
        Assert.DoesNotContain("could not be deleted", output, StringComparison.Ordinal);
        // The killed leader's runtime files (clr-debug-pipe-PID-in/out, dotnet-diagnostic-PID-*-socket) stayed, three per kill.
        Assert.Empty(Directory.GetFileSystemEntries(temp));
    }

    /// <summary>Keys under <paramref name="prefix"/> in the test etcd, through its JSON gateway (etcd 3.4: /v3/kv/range).</summary>
    private static async Task<long> CountKeysAsync(string prefix)
    {
        static string Base64(string key) => Convert.ToBase64String(Encoding.UTF8.GetBytes(key));
        using var http = new HttpClient();
        using var response = await http.PostAsJsonAsync(new Uri(new Uri(TestServers.Etcd), "/v3/kv/range"),
            new Dictionary<string, object> { ["key"] = Base64(prefix), ["range_end"] = Base64(prefix[..^1] + (char)(prefix[^1] + 1)), ["count_only"] = true },
            TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        // etcd's gateway leaves out zero values: no "count" means none.
        return answer.RootElement.TryGetProperty("count", out var count) ? long.Parse(count.GetString()!, CultureInfo.InvariantCulture) : 0;
    }

    [Fact]
    public async Task BenchFailover_MoreSyncReplicasThanSurvivorsCanGive_RefusedBeforeStartingAnyNode()
    {
        using var directory = new TempDirectory("bench-failover-refused");

        // Two nodes, one synchronous replica: once the leader is killed, no write could ever be acknowledged.
        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(["failover", "--etcd", "http://127.0.0.1:9", "--nodes", "2", "--sync-replicas", "1"],
            directory.Path, timeout: TimeSpan.FromMinutes(1));

        Assert.Equal(2, exitCode);
        Assert.Contains("--sync-replicas 1 needs at least 3 nodes", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchFailover_SyncReplicasUnderLoad_ReadsBackEveryAcknowledgedWriteAndComparesThroughput()
    {
        using var directory = new TempDirectory("bench-failover-load");

        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(
            ["failover", "--etcd", TestServers.Etcd, "--nodes", "3", "--kills", "1", "--sync-replicas", "1", "--load", "2", "--throughput-seconds", "1", "--throughput-warmup", "2"], directory.Path,
            timeout: TimeSpan.FromMinutes(6));

        Assert.True(exitCode == 0, output);
        Assert.Matches(@"read-back on the leader node\d: [1-9]\d* writes acknowledged under load through 1 kills \(\d+ answered 503 or failed\), lost 0\n", output.ReplaceLineEndings("\n"));
        Assert.Matches(@"write throughput,  1 connection\(s\): standalone +\d+ /s, cluster leader \(3 nodes, SyncReplicas 1\) +\d+ /s", output);
        Assert.Matches(@"write throughput, 32 connection\(s\): standalone +\d+ /s, cluster leader \(3 nodes, SyncReplicas 1\) +\d+ /s", output);
        // The split of a synchronous write comes from the nodes' own histograms: every figure a number, none missing.
        Assert.Matches(@"where 1 connection's time went \(means from /metrics\): the leader's append \+ fsync \d+\.\d\d ms \(standalone \d+\.\d\d ms\), " +
            @"then its wait for the sync followers \d+\.\d\d ms; a follower's chunk to durable \d+\.\d\d ms", output);
        // Every write of the read-lag run was read on a follower with ?minSeq= (a follower that never caught up fails it).
        Assert.Matches(@"follower read lag at 1,000 writes/s \(ack on the leader -> GET \?minSeq= on node\d-t answered 200\): p50 [\d.]+ ms, p90 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms over [1-9][\d,]* writes", output);
    }
}
