using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using TradeStore.Cluster;
using TradeStore.Server.Configuration;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore cluster status</c>: the leader, its term, every live node with its role, applied seq and lag, and every
/// member that is stopped or unreachable with when it was last seen, read from etcd (the same answer as
/// <c>GET /v1/cluster</c>), so it works even when no node answers HTTP. <c>tradestore cluster forget NODE</c>: drops a
/// node removed for good from that listing.
/// </summary>
public static class ClusterCommand
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    private static readonly Option<bool> Json = new("--json")
    {
        Description = "Print the status as JSON, exactly as GET /v1/cluster answers it.",
    };

    private static readonly Argument<string> NodeName = new("node")
    {
        Description = "The Cluster:Node name of the member to forget.",
    };

    public static Command Create()
    {
        var status = new Command("status",
            "Show the cluster from etcd: the leader, its term, and each node's URL, role, applied seq and lag behind the leader; " +
            "a node that joined but has no live registration now is listed as stopped (it left at shutdown) or unreachable (its lease expired) with when it was last seen, " +
            "until it runs again or is forgotten (cluster forget). " +
            "Needs only Cluster:Etcd (and Cluster:KeyPrefix when not the default), so it runs from any host that reaches etcd. " +
            "Exit 1 when no leader is known or etcd does not answer; 2 when Cluster:Etcd is not configured or a key it uses is malformed.")
        {
            Json,
        };
        status.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            if (Configure(parseResult, error) is not { } cluster)
            {
                return ExitCodes.BadInput;
            }

            using var store = new EtcdClusterStore(cluster);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ReadTimeout);
            ClusterStatus status;
            try
            {
                status = await store.ReadStatusAsync(timeout.Token);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && EtcdClusterStore.IsEtcdFailure(ex))
            {
                error.WriteLine(EtcdDidNotAnswer(store, ex));
                return ExitCodes.Failure;
            }

            if (parseResult.GetValue(Json))
            {
                output.WriteLine(JsonSerializer.Serialize(status, ClusterJson.Default.ClusterStatus));
            }
            else
            {
                Write(output, status, store.Endpoints, cluster.KeyPrefix, DateTimeOffset.UtcNow);
            }

            return status.Leader is null ? ExitCodes.Failure : ExitCodes.Success;
        });

        var forget = new Command("forget",
            "Forget a node removed from the cluster for good: drop it from GET /v1/cluster and cluster status, where it is otherwise listed as stopped or unreachable. " +
            "Only the listing changes (its data, and the sync and history keys, are untouched); if it runs again it is a member again. " +
            "Needs only Cluster:Etcd (and Cluster:KeyPrefix when not the default), so it runs from any host that reaches etcd. " +
            "Exit 1 when the node is running (its etcd lease is alive: stop it first) or etcd does not answer; " +
            "2 when no member has that name, Cluster:Etcd is not configured or a key it uses is malformed.")
        {
            NodeName,
        };
        forget.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            if (Configure(parseResult, error) is not { } cluster)
            {
                return ExitCodes.BadInput;
            }

            var name = parseResult.GetValue(NodeName)!;
            using var store = new EtcdClusterStore(cluster);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ReadTimeout);
            try
            {
                var (outcome, forgotten, live) = await store.ForgetMemberAsync(name, timeout.Token);
                switch (outcome)
                {
                    case ForgetOutcome.Forgotten:
                        output.WriteLine(forgotten is null
                            ? $"forgot node {name}"
                            : $"forgot node {name} ({forgotten.Url}, last seen {Invariant(forgotten.LastSeen)})");
                        return ExitCodes.Success;
                    case ForgetOutcome.Live:
                        error.WriteLine($"tradestore: node {name} is running at {live?.Url} (its etcd lease is alive); stop it (SIGTERM) and run cluster forget again.");
                        return ExitCodes.Failure;
                    default:
                        var members = (await store.ReadStatusAsync(timeout.Token)).Nodes.Select(n => n.Name).ToList();
                        error.WriteLine($"tradestore: no member of the cluster under {cluster.KeyPrefix} is named '{name}'; members: {(members.Count == 0 ? "none" : string.Join(", ", members))}.");
                        return ExitCodes.BadInput;
                }
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && EtcdClusterStore.IsEtcdFailure(ex))
            {
                error.WriteLine(EtcdDidNotAnswer(store, ex));
                return ExitCodes.Failure;
            }
        });
        return new Command("cluster", "High availability: the cluster of nodes elected on etcd.") { status, forget };
    }

    /// <summary>
    /// The cluster's etcd settings, or <see langword="null"/> (after saying so) when no cluster is configured. By design
    /// only the keys these commands use are read and checked (<see cref="TradeStoreSettings.BindClusterAccess"/>): they
    /// are run from an ops host, which has no <c>Cluster:Node</c> or <c>Cluster:AdvertiseUrl</c> of its own.
    /// </summary>
    /// <exception cref="ConfigurationException">Cluster:Etcd or Cluster:KeyPrefix is malformed (exit code 2, the key named).</exception>
    private static ClusterOptions? Configure(ParseResult parseResult, TextWriter error)
    {
        var cluster = TradeStoreSettings.BindClusterAccess(CommonOptions.BuildConfiguration(parseResult));
        if (!cluster.Enabled)
        {
            error.WriteLine("tradestore: no cluster is configured: set Cluster:Etcd (environment TRADESTORE__CLUSTER__ETCD) to the etcd endpoints.");
            return null;
        }

        return cluster;
    }

    private static string EtcdDidNotAnswer(EtcdClusterStore store, Exception ex) =>
        $"tradestore: etcd {store.Endpoints} did not answer within {ReadTimeout.TotalSeconds:0} s: {store.Cause(ex)}";

    private static void Write(TextWriter output, ClusterStatus cluster, string endpoints, string prefix, DateTimeOffset now)
    {
        output.WriteLine($"etcd     {endpoints} (keys under {prefix})");
        output.WriteLine(cluster.Leader is { } leader
            ? $"leader   {leader} (term {cluster.Term.ToString(CultureInfo.InvariantCulture)})"
            : "leader   NONE: no node holds the leader key; writes get 503 no-leader");
        var rows = new List<string[]> { new[] { "name", "url", "role", "appliedSeq", "lagSeq", "truncatedSeq", "lastSeen" } };
        rows.AddRange(cluster.Nodes.Select(n => new[]
        {
            n.Name, n.Url, n.Role, n.AppliedSeq.ToString(CultureInfo.InvariantCulture), n.LagSeq?.ToString(CultureInfo.InvariantCulture) ?? "-",
            n.TruncatedSeq is { } cut ? FormattableString.Invariant($"{cut.From}..{cut.To}") : "-",
            n.LastSeen is { } seen ? $"{Ago(now - seen)} ago ({Invariant(seen)})" : "-",
        }));
        var widths = Enumerable.Range(0, rows[0].Length).Select(column => rows.Max(row => row[column].Length)).ToArray();
        var missing = cluster.Missing;
        output.WriteLine(missing.Count == 0
            ? $"nodes    {cluster.Nodes.Count}"
            : $"nodes    {cluster.Nodes.Count}: {cluster.Nodes.Count - missing.Count} live, {missing.Count} MISSING ({string.Join(", ", missing.Select(n => $"{n.Name} {n.Role}"))})");
        foreach (var row in rows)
        {
            output.WriteLine("  " + string.Join("  ", row.Select((cell, column) => cell.PadRight(widths[column]))).TrimEnd());
        }

        if (missing.Count > 0)
        {
            output.WriteLine("A stopped or unreachable node stays listed until it runs again; one removed for good: tradestore cluster forget NODE.");
        }

        if (cluster.Leader is null && cluster.Nodes.Count == 0)
        {
            output.WriteLine($"Nothing is registered under {prefix}: no node has run against this etcd with that prefix. Check that Cluster:KeyPrefix " +
                "and Cluster:Etcd are the nodes' own.");
        }
    }

    private static string Invariant(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>A duration as an operator reads it: <c>45s</c>, <c>3m 10s</c>, <c>2h 5m</c>, <c>3d 4h</c> (a clock behind the node's reads as 0s).</summary>
    private static string Ago(TimeSpan elapsed)
    {
        if (elapsed < TimeSpan.Zero)
        {
            elapsed = TimeSpan.Zero;
        }

        return elapsed.TotalMinutes < 1 ? FormattableString.Invariant($"{elapsed.Seconds}s")
            : elapsed.TotalHours < 1 ? FormattableString.Invariant($"{elapsed.Minutes}m {elapsed.Seconds}s")
            : elapsed.TotalDays < 1 ? FormattableString.Invariant($"{elapsed.Hours}h {elapsed.Minutes}m")
            : FormattableString.Invariant($"{(int)elapsed.TotalDays}d {elapsed.Hours}h");
    }
}
