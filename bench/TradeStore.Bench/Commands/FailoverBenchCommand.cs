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
        nodes.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 2 or > 7)
            {
                result.AddError("--nodes must be between 2 and 7.");
            }
        });
        foreach (var positive in new[] { kills, leaseTtl })
        {
            positive.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int>() < (positive == leaseTtl ? 2 : 1))
                {
                    result.AddError($"{result.Option.Name} must be {(positive == leaseTtl ? 2 : 1)} or greater.");
                }
            });
        }

        var command = new Command("failover",
            "Failover time: N real `tradestore serve` nodes on etcd; the leader is killed with SIGKILL K times, and each sample is the time until a write sent to " +
            "a surviving node (following its 307) is acknowledged. The killed node is restarted before the next kill. Fresh temporary data directories.")
        {
            etcd, nodes, kills, leaseTtl,
        };
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

            await FailoverBenchmark.RunAsync(new FailoverBenchmarkOptions(endpoints, parseResult.GetValue(nodes), parseResult.GetValue(kills),
                TimeSpan.FromSeconds(parseResult.GetValue(leaseTtl))), parseResult.InvocationConfiguration.Output, cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }
}
