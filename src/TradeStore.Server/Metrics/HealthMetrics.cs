using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace TradeStore.Server.Metrics;

/// <summary>
/// Publishes the readiness of each dependency as the gauge <c>tradestore.health.status</c>
/// (2 healthy, 1 degraded, 0 unhealthy; tag <c>dependency</c>), so alerts can fire on "Redis degraded"
/// without anyone polling <c>/health/ready</c>. Fed by the health-check publisher every few seconds.
/// </summary>
public sealed class HealthMetrics : IHealthCheckPublisher, IDisposable
{
    /// <summary>The host's meter; the one <see cref="Meter"/> of this assembly.</summary>
    public const string MeterName = "TradeStore.Server";

    private readonly ConcurrentDictionary<string, int> _status = new(StringComparer.Ordinal);
    private readonly Meter _meter;

    public HealthMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _meter.CreateObservableGauge("tradestore.health.status", Observe, "{status}",
            "Readiness of each dependency: 2 healthy, 1 degraded, 0 unhealthy.");
    }

    public Task PublishAsync(HealthReport report, CancellationToken cancellationToken)
    {
        foreach (var (dependency, entry) in report.Entries)
        {
            _status[dependency] = Value(entry.Status);
        }

        return Task.CompletedTask;
    }

    public static int Value(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => 2,
        HealthStatus.Degraded => 1,
        _ => 0,
    };

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<int>> Observe() =>
        _status.Select(pair => new Measurement<int>(pair.Value, new KeyValuePair<string, object?>("dependency", pair.Key)));
}
