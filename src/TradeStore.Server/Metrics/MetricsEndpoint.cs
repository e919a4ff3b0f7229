using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Prometheus;
using TradeStore.Server.Configuration;

namespace TradeStore.Server.Metrics;

/// <summary>
/// Wires <c>GET /metrics</c> (Prometheus text format) into the host when <c>Server:MetricsEnabled</c> is on.
/// The endpoint needs no credentials; it is reachable wherever <c>Server:Urls</c> listens (loopback by default).
/// </summary>
public static class MetricsEndpoint
{
    public const string Path = "/metrics";

    /// <summary>How often the readiness checks run for <c>tradestore.health.status</c>.</summary>
    public static readonly TimeSpan HealthPeriod = TimeSpan.FromSeconds(15);

    public static void AddServices(IServiceCollection services, TradeStoreSettings settings)
    {
        if (!settings.Server.MetricsEnabled)
        {
            return;
        }

        PrometheusExport.EnsureConfigured();
        services.AddMetrics();
        services.AddSingleton<HealthMetrics>();
        services.AddSingleton<IHealthCheckPublisher>(provider => provider.GetRequiredService<HealthMetrics>());
        services.Configure<HealthCheckPublisherOptions>(options =>
        {
            options.Delay = TimeSpan.FromSeconds(1);
            options.Period = HealthPeriod;
        });
    }

    public static void Map(WebApplication app, TradeStoreSettings settings)
    {
        if (settings.Server.MetricsEnabled)
        {
            app.MapMetrics(Path);
        }
    }
}
