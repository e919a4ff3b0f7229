using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TradeStore.Core.Lifetime;

namespace TradeStore.Cluster;

/// <summary>Registers the cluster membership of a node.</summary>
public static class ClusterServiceCollectionExtensions
{
    /// <summary>
    /// Adds the coordinator and the state it keeps, for validated <paramref name="options"/> with <see cref="ClusterOptions.Enabled"/>.
    /// <paramref name="appliedSeq"/> reads the node's last applied journal seq, <paramref name="lastTerm"/> the term of its log's last
    /// record (a term it leads in must be larger); <paramref name="incarnation"/> is the identity of its data
    /// directory. The node leaves the cluster at <see cref="ShutdownStage.LeaveCluster"/>, the first step of a shutdown: a leader hands
    /// over before the HTTP server drains, not after (its followers' streams are requests that would hold the drain for the whole
    /// shutdown timeout).
    /// </summary>
    public static IServiceCollection AddTradeStoreCluster(this IServiceCollection services, ClusterOptions options, Func<IServiceProvider, Func<long>> appliedSeq,
        NodeIncarnation incarnation, Func<IServiceProvider, Func<long>>? lastTerm = null)
    {
        services.AddSingleton(Options.Create(options));
        services.AddSingleton(sp => new LeaseClock(sp.GetService<TimeProvider>() ?? TimeProvider.System, options.FenceMargin));
        services.AddSingleton(sp => new ClusterState(options, sp.GetRequiredService<LeaseClock>(), incarnation));
        services.AddSingleton(_ => new EtcdClusterStore(options));
        services.AddSingleton(sp => new AppliedSeq(appliedSeq(sp), lastTerm?.Invoke(sp)));
        services.AddSingleton(sp => new SyncReplicaSet(sp.GetRequiredService<EtcdClusterStore>(), sp.GetRequiredService<ClusterState>(), sp.GetRequiredService<ILogger<SyncReplicaSet>>()));
        services.AddMetrics();
        services.AddSingleton(sp => new ClusterMetrics(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), sp.GetRequiredService<ClusterState>(),
            () => sp.GetRequiredService<EtcdClusterStore>().EtcdConnections));
        services.AddSingleton<ClusterCoordinator>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterCoordinator>());
        services.AddSingleton(sp => new ShutdownStep(ShutdownStage.LeaveCluster, "cluster leave",
            token => sp.GetRequiredService<ClusterCoordinator>().StopAsync(token)));
        return services;
    }

    /// <summary>
    /// Wraps every hosted service already registered whose type <paramref name="leaderOnly"/> names in a
    /// <see cref="LeaderOnlyService"/>. Services registered by factory are checked when resolved; the others are left
    /// exactly as registered. Call after the services are registered.
    /// </summary>
    public static IServiceCollection GateOnLeadership(this IServiceCollection services, Func<Type, bool> leaderOnly)
    {
        for (var i = 0; i < services.Count; i++)
        {
            var descriptor = services[i];
            if (descriptor.ServiceType != typeof(IHostedService) || descriptor.IsKeyedService
                || (descriptor.ImplementationType is { } type && !leaderOnly(type))
                || (descriptor.ImplementationInstance is { } instance && !leaderOnly(instance.GetType())))
            {
                continue;
            }

            services[i] = ServiceDescriptor.Singleton<IHostedService>(sp =>
            {
                var inner = Resolve(sp, descriptor);
                return leaderOnly(inner.GetType())
                    ? new LeaderOnlyService(inner, sp.GetRequiredService<ClusterState>(), sp.GetRequiredService<ILogger<LeaderOnlyService>>())
                    : inner;
            });
        }

        return services;
    }

    private static IHostedService Resolve(IServiceProvider services, ServiceDescriptor descriptor) => (IHostedService)(
        descriptor.ImplementationInstance
        ?? descriptor.ImplementationFactory?.Invoke(services)
        ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!));
}
