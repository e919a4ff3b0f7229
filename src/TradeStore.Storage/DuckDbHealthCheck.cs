using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace TradeStore.Storage;

/// <summary>Readiness of the system of record: the database answers a query.</summary>
public sealed class DuckDbHealthCheck(DuckDbDatabase database) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var connection = database.OpenConnection();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            command.ExecuteScalar();
            return Task.FromResult(HealthCheckResult.Healthy(database.Path));
        }
        catch (Exception ex)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, $"DuckDB at {database.Path} does not answer: {ex.Message}", ex));
        }
    }
}
