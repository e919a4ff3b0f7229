using Prometheus;

namespace TradeStore.Server.Metrics;

/// <summary>
/// What <c>GET /metrics</c> exports: every <c>System.Diagnostics.Metrics</c> meter whose name starts with
/// <c>TradeStore.</c>, the runtime's own <c>System.Runtime</c> meter, ASP.NET Core's request metrics, and
/// prometheus-net's process collector (CPU, memory, threads, handles, start time).
/// </summary>
public static class PrometheusExport
{
    /// <summary>Meter-name prefixes that reach <c>/metrics</c>.</summary>
    public static readonly IReadOnlyList<string> MeterPrefixes = ["TradeStore.", "System.Runtime", "Microsoft.AspNetCore.Hosting"];

    private static readonly Lock ConfigureLock = new();
    private static MeterBridge? _bridge;

    /// <summary>
    /// Configures prometheus-net's default registry once per process. By design its global state is
    /// set before the first scrape and never changed: prometheus-net ignores later configuration.
    /// </summary>
    public static void EnsureConfigured()
    {
        lock (ConfigureLock)
        {
            if (_bridge is not null)
            {
                return;
            }

            // By design the .NET 9+ System.Runtime meter supplies the runtime metrics (GC, JIT, thread pool,
            // exceptions); the older EventCounter bridge would publish the same figures a second time, under
            // other names, at the cost of an EventListener. Meters go through MeterBridge, for their names.
            Prometheus.Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions
            {
                SuppressProcessMetrics = false,
                SuppressDebugMetrics = true,
                SuppressEventCounters = true,
                SuppressMeters = true,
            });
            _bridge = new MeterBridge(meter => IsExported(meter.Name), Prometheus.Metrics.DefaultRegistry);
        }
    }

    /// <summary>Whether instruments of the meter named <paramref name="meterName"/> are exported.</summary>
    public static bool IsExported(string meterName) =>
        MeterPrefixes.Any(prefix => meterName.StartsWith(prefix, StringComparison.Ordinal));
}
