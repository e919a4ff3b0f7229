using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary><c>tradestore-bench failover</c> against the test etcd: the leader is killed and a write is acknowledged again.</summary>
public sealed class FailoverBenchTests
{
    [Fact]
    public async Task BenchFailover_TwoNodesOneKill_PrintsTheSampleAndThePercentiles()
    {
        using var directory = new TempDirectory("bench-failover");

        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(["failover", "--etcd", TestServers.Etcd, "--nodes", "2", "--kills", "1"], directory.Path,
            timeout: TimeSpan.FromMinutes(4));

        Assert.True(exitCode == 0, output);
        Assert.Contains("kill  1: node", output);
        Assert.Contains("over 1 kills", output);
    }
}
