using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using TradeStore.Core.Options;

namespace TradeStore.Redis;

/// <summary>Redis answers <c>PING</c> within <see cref="RedisOptions.HealthTimeout"/>; otherwise the registration's failure status (degraded).</summary>
public sealed class RedisHealthCheck(RedisConnection connection, IOptions<RedisOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var timeout = options.Value.HealthTimeout;
        try
        {
            var database = await connection.GetDatabaseAsync().WaitAsync(timeout, cancellationToken);
            var latency = await database.PingAsync().WaitAsync(timeout, cancellationToken);
            return HealthCheckResult.Healthy($"{connection.Endpoint} answered PING in {latency.TotalMilliseconds:0.0} ms");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var reason = ex is TimeoutException ? $"no answer within {timeout.TotalMilliseconds:0} ms" : ex.Message;
            return new HealthCheckResult(context.Registration.FailureStatus, $"{connection.Endpoint}: {reason}");
        }
    }
}
