using System.CommandLine;
using TradeStore.Cli;
using TradeStore.Server.Configuration;

namespace TradeStore.Bench.Commands;

/// <summary><c>tradestore-bench failover</c>: how long a cluster takes to acknowledge writes again after its leader is killed (a subcommand of <see cref="BenchCommand"/>).</summary>
public static class FailoverBenchCommand
{
    public static Command Create()
    {
        var etcd = new Option<string?>("--etcd") { Description = "etcd client endpoints; default Cluster:Etcd of the configuration.", HelpName = "URL" };
        var nodes = new Option<int>("--nodes") { Description = "Nodes in the cluster (2-7).", DefaultValueFactory = _ => 3, HelpName = "N" };
        var kills = new Option<int>("--kills") { Description = "Leader kills (SIGKILL), each one sample.", DefaultValueFactory = _ => 10, HelpName = "N" };
        var leaseTtl = new Option<int>("--lease-ttl") { Description = "Cluster:LeaseTtl of the nodes, in seconds.", DefaultValueFactory = _ => 3, HelpName = "S" };
        var syncReplicas = new Option<int>("--sync-replicas") { Description = "Cluster:SyncReplicas of the nodes (0-8, and at most --nodes minus 2, so the survivors of a kill can acknowledge).", DefaultValueFactory = _ => 0, HelpName = "N" };
        var load = new Option<int>("--load") { Description = "Connections writing through the kills; every acknowledged trade is read back at the end (0: no load).", DefaultValueFactory = _ => 0, HelpName = "C" };
        var throughput = new Option<int>("--throughput-seconds")
        {
            Description = "Seconds of each write-throughput run (1 and 32 connections, standalone and on the cluster's leader, before the kills) and of the " +
                "follower read-lag run (1,000 writes/s on the leader, each read on a follower with ?minSeq=); 0 skips them.",
            DefaultValueFactory = _ => 0,
            HelpName = "S",
        };
        var throughputWarmup = new Option<int>("--throughput-warmup")
        {
            Description = "Seconds the fresh standalone node and the fresh cluster are written to (half with 1 connection, half with 32) before their throughput " +
                "runs are measured, until their JIT has compiled the hot paths (three nodes compiling on two cores take 20-30 s).",
            DefaultValueFactory = _ => 30,
            HelpName = "S",
        };
        OptionRules.Between(0, 8, syncReplicas);
        OptionRules.Between(0, 64, load);
        OptionRules.Between(0, 600, throughput, throughputWarmup);
        OptionRules.Between(2, 7, nodes);
        OptionRules.AtLeast(1, kills);
        OptionRules.AtLeast(2, leaseTtl);
        OptionRules.Check(etcd, value => value?.Split(',', StringSplitOptions.TrimEntries).FirstOrDefault(e => !IsHttpUrl(e)) is { } wrong
            ? $"--etcd: '{wrong}' is not an http:// or https:// address; give etcd's client endpoints, e.g. http://127.0.0.1:2379 (several separated by commas)."
            : null);

        var command = new Command("failover",
            "Failover time: N real `tradestore serve` nodes on etcd; the leader is killed with SIGKILL K times, and each sample is the time until a write sent to " +
            "a surviving node (following its 307) is acknowledged. The killed node is restarted before the next kill. With --load, writes go on through the kills and " +
            "every acknowledged one is read back (lost = 0 is the target with --sync-replicas 1); with --throughput-seconds, 1 and 32 connections are measured " +
            "standalone and on the cluster's leader in the same run, the follower read lag at 1,000 writes/s, and (with --sync-replicas) where one connection's write time went, from the nodes' commit and replication histograms. Fresh temporary data directories.")
        {
            etcd, nodes, kills, leaseTtl, syncReplicas, load, throughput, throughputWarmup,
        };
        command.Validators.Add(result =>
        {
            // After a kill, the new leader acknowledges only once N of the other survivors hold each write.
            if (OptionRules.TryGetValue(result, syncReplicas, out var sync) && OptionRules.TryGetValue(result, nodes, out var count) && count is >= 2 and <= 7 && sync > count - 2)
            {
                result.AddError($"--sync-replicas {sync} needs at least {sync + 2} nodes: once the leader is killed, the new leader acknowledges a write only " +
                    $"when {sync} other surviving node(s) hold it (got --nodes {count}).");
            }
        });
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var endpoints = parseResult.GetValue(etcd);
            if (endpoints is null)
            {
                var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
                endpoints = settings.Cluster.Etcd;
            }

            if (string.IsNullOrWhiteSpace(endpoints))
            {
                parseResult.InvocationConfiguration.Error.WriteLine("tradestore-bench: no etcd: pass --etcd http://127.0.0.1:2379 or set Cluster:Etcd.");
                return ExitCodes.BadInput;
            }

            try
            {
                await FailoverBenchmark.RunAsync(new FailoverBenchmarkOptions(endpoints, parseResult.GetValue(nodes), parseResult.GetValue(kills),
                    TimeSpan.FromSeconds(parseResult.GetValue(leaseTtl)), parseResult.GetValue(syncReplicas), parseResult.GetValue(load), parseResult.GetValue(throughput),
                    parseResult.GetValue(throughputWarmup)),
                    parseResult.InvocationConfiguration.Output, cancellationToken);
            }
            catch (TimeoutException ex)
            {
                parseResult.InvocationConfiguration.Error.WriteLine($"tradestore-bench: {ex.Message}");
                return ExitCodes.Failure;
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static bool IsHttpUrl(string endpoint) =>
        Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}
