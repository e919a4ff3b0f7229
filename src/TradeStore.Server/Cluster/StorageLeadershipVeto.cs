using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using TradeStore.Cluster;
using TradeStore.Server.Health;
using TradeStore.Storage;

namespace TradeStore.Server.Cluster;

/// <summary>
/// Keeps a node whose storage refuses writes from leading: exactly when readiness's DuckDB check is not healthy (commits
/// fail and a probe commit fails too: a full disk, an I/O error; DuckDB invalidated; writes refused for good). By design
/// the same check, so a leader steps down only for what readiness also reports, and the check's probe (a scratch file and
/// a commit) is what ends the fault: a node that stepped down campaigns again once its disk takes writes, without a
/// client writing to it. While commits succeed it costs nothing: the probe runs only during a run of failures.
/// </summary>
public sealed class StorageLeadershipVeto(DuckDbDatabase database, ILogger<DuckDbHealthCheck> logger) : ILeadershipVeto
{
    private readonly DuckDbHealthCheck _check = new(database, logger);

    public async ValueTask<string?> ReasonNotToLeadAsync(CancellationToken cancellationToken)
    {
        var health = database.WriteHealth;
        if (health.Failure is null && health.Invalidated is null && health.WritesRefused is null)
        {
            return null;
        }

        var context = new HealthCheckContext { Registration = new HealthCheckRegistration(DependencyNames.DuckDb, _check, HealthStatus.Unhealthy, null) };
        try
        {
            var result = await _check.CheckHealthAsync(context, cancellationToken);
            return result.Status == HealthStatus.Healthy ? null : $"its storage refuses writes ({result.Description})";
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return $"its storage refuses writes, and checking it failed too ({ex.Message})";
        }
    }
}
