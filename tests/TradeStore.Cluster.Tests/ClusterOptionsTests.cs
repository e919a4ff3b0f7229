using TradeStore.Server.Configuration;

namespace TradeStore.Cluster.Tests;

public sealed class ClusterOptionsTests
{
    [Fact]
    public void Validate_NothingSet_RunsStandalone()
    {
        var settings = Bind([]);

        Assert.False(settings.Cluster.Enabled);
    }

    [Fact]
    public void Validate_EtcdWithoutNodeAndAdvertiseUrl_NamesBothKeys()
    {
        var error = Assert.Throws<ConfigurationException>(() => Bind(new() { ["TRADESTORE__CLUSTER__ETCD"] = "http://127.0.0.1:2379" }));

        Assert.Contains("Cluster:Node", error.Message);
        Assert.Contains("Cluster:AdvertiseUrl", error.Message);
    }

    [Fact]
    public void Validate_CompleteCluster_ParsesEveryEndpoint()
    {
        var settings = Bind(Cluster(new() { ["TRADESTORE__CLUSTER__ETCD"] = "http://10.0.0.1:2379, http://10.0.0.2:2379" }));

        Assert.True(settings.Cluster.Enabled);
        Assert.Equal(["http://10.0.0.1:2379/", "http://10.0.0.2:2379/"], settings.Cluster.EtcdEndpoints.Select(u => u.ToString()));
        Assert.Equal(TimeSpan.FromSeconds(3), settings.Cluster.LeaseTtl);
    }

    [Theory]
    [InlineData("TRADESTORE__CLUSTER__ADVERTISEURL", "http://0.0.0.0:5080", "Cluster:AdvertiseUrl")]
    [InlineData("TRADESTORE__CLUSTER__ADVERTISEURL", "http://node-a:5080/api", "Cluster:AdvertiseUrl")]
    [InlineData("TRADESTORE__CLUSTER__ETCD", "127.0.0.1:2379", "Cluster:Etcd")]
    [InlineData("TRADESTORE__CLUSTER__NODE", "node a", "Cluster:Node")]
    [InlineData("TRADESTORE__CLUSTER__LEASETTL", "00:00:02.500", "Cluster:LeaseTtl")]
    [InlineData("TRADESTORE__CLUSTER__LEASETTL", "00:00:01", "Cluster:LeaseTtl")]
    [InlineData("TRADESTORE__CLUSTER__KEYPREFIX", "tradestore", "Cluster:KeyPrefix")]
    [InlineData("TRADESTORE__CLUSTER__SYNCREPLICAS", "9", "Cluster:SyncReplicas")]
    [InlineData("TRADESTORE__CLUSTER__REPLICATIONTIMEOUT", "00:00:00.010", "Cluster:ReplicationTimeout")]
    [InlineData("TRADESTORE__CLUSTER__READWAITTIMEOUT", "00:01:00", "Cluster:ReadWaitTimeout")]
    [InlineData("TRADESTORE__CLUSTER__FOLLOWERAPPLYINTERVAL", "00:00:11", "Cluster:FollowerApplyInterval")]
    public void Validate_BadValue_NamesTheKey(string variable, string value, string key)
    {
        var error = Assert.Throws<ConfigurationException>(() => Bind(Cluster(new() { [variable] = value })));

        Assert.Contains(key, error.Message);
    }

    [Fact]
    public void Validate_SyncReplicasOneWithTimeouts_AcceptedAsGiven()
    {
        var settings = Bind(Cluster(new()
        {
            ["TRADESTORE__CLUSTER__SYNCREPLICAS"] = "1",
            ["TRADESTORE__CLUSTER__REPLICATIONTIMEOUT"] = "00:00:00.500",
            ["TRADESTORE__CLUSTER__READWAITTIMEOUT"] = "00:00:02",
        }));

        Assert.Equal(1, settings.Cluster.SyncReplicas);
        Assert.Equal(TimeSpan.FromMilliseconds(500), settings.Cluster.ReplicationTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), settings.Cluster.ReadWaitTimeout);
    }

    [Fact]
    public void Validate_ReplicationKeyWithoutEtcd_SaysHowToRunStandalone()
    {
        var error = Assert.Throws<ConfigurationException>(() => Bind(new() { ["TRADESTORE__CLUSTER__REPLICATIONKEY"] = "ts_x" }));

        Assert.Contains("Cluster:ReplicationKey", error.Message);
        Assert.Contains("standalone", error.Message);
    }

    [Fact]
    public void Validate_NodeWithoutEtcd_SaysHowToRunStandalone()
    {
        var error = Assert.Throws<ConfigurationException>(() => Bind(new() { ["TRADESTORE__CLUSTER__NODE"] = "a" }));

        Assert.Contains("Cluster:Node", error.Message);
        Assert.Contains("standalone", error.Message);
    }

    [Fact]
    public void BindClusterAccess_OnlyEtcd_EnoughForTheAdminCommands()
    {
        var cluster = TradeStoreSettings.BindClusterAccess(Configuration(new() { ["TRADESTORE__CLUSTER__ETCD"] = "http://127.0.0.1:2379" }));

        Assert.True(cluster.Enabled);
        Assert.Equal("/tradestore/", cluster.KeyPrefix);
        Assert.Null(cluster.Node);
    }

    [Theory]
    [InlineData("TRADESTORE__CLUSTER__ETCD", "127.0.0.1:2379", "Cluster:Etcd: '127.0.0.1:2379' is not an absolute")]
    [InlineData("TRADESTORE__CLUSTER__KEYPREFIX", "tradestore", "Cluster:KeyPrefix: must start and end with '/'")]
    public void BindClusterAccess_BadEtcdKey_NamesTheKey(string variable, string value, string message)
    {
        var environment = new Dictionary<string, string> { ["TRADESTORE__CLUSTER__ETCD"] = "http://127.0.0.1:2379", [variable] = value };

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreSettings.BindClusterAccess(Configuration(environment)));

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BindClusterAccess_UnknownClusterKey_NamesIt()
    {
        var environment = new Dictionary<string, string> { ["TRADESTORE__CLUSTER__ETCD"] = "http://127.0.0.1:2379", ["TRADESTORE__CLUSTER__ETDC"] = "x" };

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreSettings.BindClusterAccess(Configuration(environment)));

        Assert.Contains("Etdc", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void FenceMargin_DefaultLease_StopsAcknowledgingBeforeTheTtlAndAfterTwoMissedRenewals()
    {
        var options = new ClusterOptions();

        // Renewals every TTL/3: two may fail before the fence, and the fence is always before the TTL.
        Assert.True(options.LeaseTtl - options.FenceMargin > 2 * options.RenewInterval);
        Assert.True(options.FenceMargin >= ClusterOptions.MinimumFenceMargin);
    }

    private static Dictionary<string, string> Cluster(Dictionary<string, string> overrides)
    {
        var values = new Dictionary<string, string>
        {
            ["TRADESTORE__CLUSTER__ETCD"] = "http://127.0.0.1:2379",
            ["TRADESTORE__CLUSTER__NODE"] = "node-a",
            ["TRADESTORE__CLUSTER__ADVERTISEURL"] = "http://node-a:5080",
        };
        foreach (var (key, value) in overrides)
        {
            values[key] = value;
        }

        return values;
    }

    private static TradeStoreSettings Bind(Dictionary<string, string> environment) => TradeStoreSettings.Bind(Configuration(environment));

    private static Microsoft.Extensions.Configuration.IConfigurationRoot Configuration(Dictionary<string, string> environment)
    {
        var directory = Path.GetTempPath();
        return TradeStoreConfiguration.Build(new ConfigurationInputs
        {
            BaseDirectory = directory,
            WorkingDirectory = directory,
            Environment = environment,
        });
    }
}
