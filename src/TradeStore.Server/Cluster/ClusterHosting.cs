using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using TradeStore.ClickHouse.Sync;
using TradeStore.Cluster;
using TradeStore.Redis.Projection;
using TradeStore.Server.Configuration;
using TradeStore.Server.Security;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Engine;

namespace TradeStore.Server.Cluster;

/// <summary>
/// The host's hooks for high availability, all no-ops when <c>Cluster:Etcd</c> is unset: the coordinator, the sinks
/// gated on leadership, the write gate on the trade API, and <c>GET /v1/cluster</c>.
/// </summary>
public static class ClusterHosting
{
    /// <summary>
    /// Registers the cluster services. Call after the sinks are registered, so they can be gated. <paramref name="incarnation"/>
    /// is the identity of the node's data directory (<see cref="Incarnation"/>).
    /// </summary>
    public static void AddServices(IServiceCollection services, TradeStoreSettings settings, DataDirectoryIncarnation? incarnation)
    {
        if (!settings.Cluster.Enabled)
        {
            return;
        }

        if (settings.Security.ApiKeys.Count > 0 && string.IsNullOrWhiteSpace(settings.Cluster.ReplicationKey))
        {
            // Otherwise every follower's stream would be refused with 401 and the cluster would hold no copies.
            throw new ConfigurationException(
                "Cluster:ReplicationKey: API keys are configured (Security:ApiKeys), so followers must authenticate to the leader's replication stream: " +
                "set Cluster:ReplicationKey to an admin key (ts_…) of Security:ApiKeys, the same on every node.");
        }

        services.AddTradeStoreCluster(settings.Cluster, sp => () => sp.GetRequiredService<WriteEngine>().LastSeq,
            new NodeIncarnation(incarnation!.Id, incarnation.Adopted), sp => () => sp.GetRequiredService<JournalLog>().LastTerm);
        // Replication of the journal log (issue #14): the leader's hub (the engine's hook) and the follower's stream.
        services.AddSingleton(sp => new ReplicationHub(settings.Cluster, sp.GetRequiredService<ClusterState>(), sp.GetRequiredService<JournalLog>(),
            sp.GetRequiredService<SyncReplicaSet>(), sp.GetService<TimeProvider>(), sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
            sp.GetRequiredService<ClusterMetrics>()));
        services.AddSingleton<UnidentifiedFollowers>();
        services.AddSingleton<IJournalReplication>(sp => sp.GetRequiredService<ReplicationHub>());
        services.AddSingleton<ILeaderHandOver>(sp => sp.GetRequiredService<ReplicationHub>());
        // A leader whose storage refuses writes steps down, and such a node does not campaign (events 7028, 7029).
        services.AddSingleton<ILeadershipVeto, StorageLeadershipVeto>();
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<ReplicationFollower>(sp, settings.Cluster));
        services.AddHostedService(sp => sp.GetRequiredService<ReplicationFollower>());
        // A well-formed but wrong Cluster:AdvertiseUrl shows only once the node leads: said at start instead (event 1321).
        services.AddHostedService<AdvertiseUrlProbe>();
        // By design the sinks run on the leader only: one writer per sink, and each resumes from its own checkpoint.
        services.GateOnLeadership(type => type == typeof(RedisProjector) || type == typeof(ClickHouseSyncService));
    }

    /// <summary>
    /// The identity of the data directory of <paramref name="databasePath"/> in a cluster (created with the directory;
    /// call before the journal log is opened), <see langword="null"/> standalone, which writes no file.
    /// </summary>
    /// <exception cref="ConfigurationException">The file exists but is damaged.</exception>
    public static DataDirectoryIncarnation? Incarnation(TradeStoreSettings settings, string databasePath)
    {
        if (!settings.Cluster.Enabled)
        {
            return null;
        }

        try
        {
            return DataDirectoryIncarnation.LoadOrCreate(databasePath);
        }
        catch (InvalidDataException ex)
        {
            throw new ConfigurationException(ex.Message, ex);
        }
    }

    /// <summary>Where the trade API is mapped: <paramref name="app"/> itself standalone, a group with the write gate in a cluster.</summary>
    public static IEndpointRouteBuilder TradeApiRoutes(WebApplication app, TradeStoreSettings settings) =>
        settings.Cluster.Enabled ? WriteGate.Apply(app.MapGroup(string.Empty)) : app;

    /// <summary>Logs a tail cut at start-up and shows it in the node registry (<c>truncatedSeq</c> of <c>GET /v1/cluster</c>) until the next start.</summary>
    public static void ReportTruncation(WebApplication app, TruncationResult? truncation)
    {
        if (truncation is null)
        {
            return;
        }

        Log.TailCut(app.Logger, truncation.KeptThroughSeq + 1, truncation.LastSeqBefore, truncation.Records, truncation.Trades);
        if (app.Services.GetService<ClusterState>() is { } state)
        {
            state.Truncated = new TruncatedRange(truncation.KeptThroughSeq + 1, truncation.LastSeqBefore);
        }
    }

    /// <summary>The exit code replication (a diverged log) or the coordinator (a node name in use) stopped the node with, or <see langword="null"/>.</summary>
    public static int? ExitCode(WebApplication app) =>
        app.Services.GetService<ReplicationFollower>()?.ExitCode ?? app.Services.GetService<ClusterCoordinator>()?.ExitCode;

    /// <summary>Maps <c>GET /v1/cluster</c> and the replication endpoints in a cluster.</summary>
    public static void Map(WebApplication app, TradeStoreSettings settings)
    {
        if (settings.Cluster.Enabled)
        {
            app.MapGet(ClusterEndpoint.Path, ClusterEndpoint.GetAsync).RequireAuthorization(SecurityPolicies.Read);
            ReplicationEndpoints.Map(app);
        }
    }
}
