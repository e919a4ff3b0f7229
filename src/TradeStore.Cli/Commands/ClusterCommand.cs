using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using TradeStore.Cluster;
using TradeStore.Server.Configuration;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore cluster status</c>: the leader, its term and every live node with its role, applied seq and lag, read
/// from etcd (the same answer as <c>GET /v1/cluster</c>), so it works even when no node answers HTTP.
/// </summary>
public static class ClusterCommand
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    private static readonly Option<bool> Json = new("--json")
    {
        Description = "Print the status as JSON, exactly as GET /v1/cluster answers it.",
    };

    public static Command Create()
    {
        var status = new Command("status",
            "Show the cluster from etcd: the leader, its term, and each node's URL, role, applied seq and lag behind the leader. " +
            "Exit 1 when no leader is known or etcd does not answer; 2 when Cluster:Etcd is not configured.")
        {
            Json,
        };
        status.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
            if (!settings.Cluster.Enabled)
            {
                error.WriteLine("tradestore: no cluster is configured: set Cluster:Etcd (environment TRADESTORE__CLUSTER__ETCD) to the etcd endpoints.");
                return ExitCodes.BadInput;
            }

            using var store = new EtcdClusterStore(settings.Cluster);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ReadTimeout);
            ClusterStatus cluster;
            try
            {
                cluster = await store.ReadStatusAsync(timeout.Token);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && EtcdClusterStore.IsEtcdFailure(ex))
            {
                error.WriteLine($"tradestore: etcd {store.Endpoints} did not answer within {ReadTimeout.TotalSeconds:0} s: {ex.Message}");
                return ExitCodes.Failure;
            }

            if (parseResult.GetValue(Json))
            {
                output.WriteLine(JsonSerializer.Serialize(cluster, ClusterJson.Default.ClusterStatus));
            }
            else
            {
                Write(output, cluster, store.Endpoints, settings.Cluster.KeyPrefix);
            }

            return cluster.Leader is null ? ExitCodes.Failure : ExitCodes.Success;
        });
        return new Command("cluster", "High availability: the cluster of nodes elected on etcd.") { status };
    }

    private static void Write(TextWriter output, ClusterStatus cluster, string endpoints, string prefix)
    {
        output.WriteLine($"etcd     {endpoints} (keys under {prefix})");
        output.WriteLine(cluster.Leader is { } leader
            ? $"leader   {leader} (term {cluster.Term.ToString(CultureInfo.InvariantCulture)})"
            : "leader   NONE: no node holds the leader key; writes get 503 no-leader");
        var rows = new List<string[]> { new[] { "name", "url", "role", "appliedSeq", "lagSeq", "truncatedSeq" } };
        rows.AddRange(cluster.Nodes.Select(n => new[]
        {
            n.Name, n.Url, n.Role, n.AppliedSeq.ToString(CultureInfo.InvariantCulture), n.LagSeq?.ToString(CultureInfo.InvariantCulture) ?? "-",
            n.TruncatedSeq is { } cut ? FormattableString.Invariant($"{cut.From}..{cut.To}") : "-",
        }));
        var widths = Enumerable.Range(0, rows[0].Length).Select(column => rows.Max(row => row[column].Length)).ToArray();
        output.WriteLine($"nodes    {cluster.Nodes.Count}");
        foreach (var row in rows)
        {
            output.WriteLine("  " + string.Join("  ", row.Select((cell, column) => cell.PadRight(widths[column]))).TrimEnd());
        }
    }
}
