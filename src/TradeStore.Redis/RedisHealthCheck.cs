using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using TradeStore.Core.Options;
using TradeStore.Redis.Projection;

namespace TradeStore.Redis;

/// <summary>
/// Redis answers <c>PING</c> within <see cref="RedisOptions.HealthTimeout"/> and, when the projector runs in this process,
/// the projection is no further behind than <see cref="RedisOptions.DegradedLag"/> and not paused; otherwise the
/// registration's failure status (degraded). A projector that does not run here (a cluster follower: only the leader
/// writes to Redis) has no position to hold against this node's journal, which it would trail without end.
/// </summary>
public sealed class RedisHealthCheck(RedisConnection connection, IOptions<RedisOptions> options, RedisProjector? projector = null) : IHealthCheck
{
    /// <summary>What the description says of a projection that does not run in this process.</summary>
    public const string NotRunningHere = "the projection does not run on this node (on a cluster only the leader writes to Redis)";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var timeout = options.Value.HealthTimeout;
        try
        {
            var database = await connection.GetReachableDatabaseAsync(timeout, cancellationToken).WaitAsync(timeout * 2, cancellationToken);
            var latency = await database.PingAsync().WaitAsync(timeout, cancellationToken);
            var answered = $"{connection.Endpoint} answered PING in {latency.TotalMilliseconds:0.0} ms";
            if (projector is null)
            {
                return HealthCheckResult.Healthy(answered);
            }

            if (!projector.IsRunning)
            {
                return HealthCheckResult.Healthy($"{answered}; {NotRunningHere}");
            }

            var status = projector.Status;

            var projection = $"projection at seq {status.Checkpoint}{CopyNote(status)}, {status.LagEvents} events ({status.Lag.TotalSeconds:0.000} s) behind the journal";
            if (status.Paused || status.Lag > options.Value.DegradedLag)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, $"{answered}; {projection}" + (status.LastError is { } error ? $"; last error: {error}" : string.Empty));
            }

            return HealthCheckResult.Healthy($"{answered}; {projection}");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var reason = ex is TimeoutException ? $"no answer within {timeout.TotalMilliseconds:0} ms" : RedisErrorText.Brief(ex);
            var lag = projector is { IsRunning: true, Status: var status } ? $"; projection {status.LagEvents} events behind the journal{CopyNote(status)}, writes continue"
                : projector is not null ? $"; {NotRunningHere}"
                : string.Empty;
            return new HealthCheckResult(context.Registration.FailureStatus, $"{connection.Endpoint}: {reason}{lag}");
        }
    }

    /// <summary>Says when the figures count from DuckDB's copy of the checkpoint, not Redis's own (Redis not read since the start).</summary>
    private static string CopyNote(RedisProjectionStatus status) =>
        status.FromDuckDbCopy ? $" (from DuckDB's copy of its checkpoint, seq {status.Checkpoint}: Redis not read since the start)" : string.Empty;
}
