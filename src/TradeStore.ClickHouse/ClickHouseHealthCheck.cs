using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using TradeStore.Core.Options;

namespace TradeStore.ClickHouse;

/// <summary>ClickHouse answers <c>SELECT 1</c> within <see cref="ClickHouseOptions.HealthTimeout"/>; otherwise the registration's failure status (degraded).</summary>
public sealed class ClickHouseHealthCheck(ClickHouseClient client, IOptions<ClickHouseOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var timeout = options.Value.HealthTimeout;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            var answer = await client.QueryAsync("SELECT 1", cts.Token);
            return answer.Trim() == "1"
                ? HealthCheckResult.Healthy($"{client.BaseUri} answered SELECT 1")
                : new HealthCheckResult(context.Registration.FailureStatus, $"{client.BaseUri} answered SELECT 1 with '{answer.Trim()}'");
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var reason = ex is OperationCanceledException ? $"no answer within {timeout.TotalMilliseconds:0} ms" : ex.Message;
            return new HealthCheckResult(context.Registration.FailureStatus, $"{client.BaseUri}: {reason}");
        }
    }
}
