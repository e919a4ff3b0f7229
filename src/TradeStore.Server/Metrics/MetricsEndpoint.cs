using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using TradeStore.Server.Configuration;

namespace TradeStore.Server.Metrics;

/// <summary>
/// Wires <c>GET /metrics</c> (Prometheus text format) into the host when <c>Server:MetricsEnabled</c> is on, through
/// OpenTelemetry's Prometheus exporter: every <c>System.Diagnostics.Metrics</c> meter named <c>TradeStore.*</c>
/// (including <see cref="ProcessMetrics"/>), the runtime's <c>System.Runtime</c> meter and ASP.NET Core's request
/// metrics. Instrument <c>tradestore.write.commit.duration</c> (unit <c>s</c>) is exported as
/// <c>tradestore_write_commit_duration_seconds</c>, a counter gets <c>_total</c>.
/// Who may read it is <c>Security:Metrics</c> (default: loopback callers without a key, admin keys from anywhere).
/// </summary>
public static class MetricsEndpoint
{
    public const string Path = "/metrics";

    /// <summary>How often the readiness checks run for <c>tradestore.health.status</c>.</summary>
    public static readonly TimeSpan HealthPeriod = TimeSpan.FromSeconds(15);

    /// <summary>The meters that reach <c>/metrics</c> (<c>*</c> is a wildcard).</summary>
    public static readonly IReadOnlyList<string> Meters = ["TradeStore.*", "System.Runtime", "Microsoft.AspNetCore.Hosting", KestrelMeter];

    /// <summary>Kestrel's meter, of which only <see cref="KestrelInstruments"/> are exported.</summary>
    private const string KestrelMeter = "Microsoft.AspNetCore.Server.Kestrel";

    /// <summary>
    /// Kestrel's instruments that reach <c>/metrics</c>: the connections open now, and those closed at
    /// <c>Kestrel:Limits:MaxConcurrentConnections</c> (counted here rather than logged one warning each: a flood of
    /// connections at the limit was a flood of log lines). The others (a duration histogram per connection, TLS) are dropped.
    /// </summary>
    private static readonly string[] KestrelInstruments = ["kestrel.active_connections", "kestrel.rejected_connections"];

    /// <summary>Buckets of a histogram in seconds that advises none (HTTP durations and ours advise their own).</summary>
    private static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    public static void AddServices(IServiceCollection services, TradeStoreSettings settings)
    {
        if (!settings.Server.MetricsEnabled)
        {
            return;
        }

        services.AddMetrics();
        services.AddSingleton<HealthMetrics>();
        services.AddSingleton<ProcessMetrics>();
        services.AddSingleton<IHealthCheckPublisher>(provider => provider.GetRequiredService<HealthMetrics>());
        services.Configure<HealthCheckPublisherOptions>(options =>
        {
            options.Delay = TimeSpan.FromSeconds(1);
            options.Period = HealthPeriod;
        });
        services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            metrics
                .AddMeter([.. Meters])
                .AddInstrumentation(provider => provider.GetRequiredService<ProcessMetrics>())
                .AddPrometheusExporter(options =>
                {
                    // Every scrape sees the values of that moment (the 300 ms default cache would answer older ones).
                    options.ScrapeResponseCacheDurationMilliseconds = 0;
                    // The names and labels Prometheus rules and dashboards read: no otel_scope_* labels, no target_info.
                    options.ScopeInfoEnabled = false;
                    options.TargetInfoEnabled = false;
                });

            // The view needs this host's meter factory, known once the service provider is built.
            ((IDeferredMeterProviderBuilder)metrics).Configure((provider, builder) =>
            {
                var ownFactory = provider.GetRequiredService<IMeterFactory>();
                builder.AddView(instrument => StreamOf(instrument, ownFactory));
            });
        });
    }

    public static void Map(WebApplication app, TradeStoreSettings settings)
    {
        if (settings.Server.MetricsEnabled)
        {
            app.MapPrometheusScrapingEndpoint(Path).RequireAuthorization(Security.SecurityPolicies.Metrics);
        }
    }

    /// <summary>
    /// How one instrument is exported. A listener hears every meter of the process that bears a subscribed name, so an
    /// instrument of a meter that another host's <see cref="IMeterFactory"/> created (a second host in the same process:
    /// tests, benchmarks) is dropped: it would otherwise merge into this host's series of the same name, and take them
    /// away with it when that host stops. Meters created without a factory (<c>System.Runtime</c>) belong to all.
    /// A histogram in seconds without advice gets sub-second buckets; <see langword="null"/> leaves the rest alone.
    /// </summary>
    private static MetricStreamConfiguration? StreamOf(Instrument instrument, IMeterFactory ownFactory)
    {
        if (instrument.Meter.Scope is IMeterFactory factory && !ReferenceEquals(factory, ownFactory))
        {
            return MetricStreamConfiguration.Drop;
        }

        if (instrument.Meter.Name == KestrelMeter && !KestrelInstruments.Contains(instrument.Name))
        {
            return MetricStreamConfiguration.Drop;
        }

        return DefaultSecondsBuckets(instrument);
    }

    private static MetricStreamConfiguration? DefaultSecondsBuckets(Instrument instrument) =>
        instrument is Histogram<double> { Unit: "s", Advice.HistogramBucketBoundaries: null } or Histogram<double> { Unit: "s", Advice: null }
            ? new ExplicitBucketHistogramConfiguration { Boundaries = SecondsBuckets }
            : null;
}
