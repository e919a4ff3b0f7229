using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using TradeStore.ClickHouse.Sync;
using TradeStore.Core.Options;

namespace TradeStore.ClickHouse;

/// <summary>
/// ClickHouse answers <c>SELECT 1</c> within <see cref="ClickHouseOptions.HealthTimeout"/>, and the sync daemon, when it
/// runs in this process, is neither failing nor lagging more than <see cref="SyncOptions.DegradedLag"/>; otherwise the
/// registration's failure status (degraded) with the reason, the last sync error included. A daemon that does not run
/// here (a cluster follower: only the leader writes to ClickHouse) is not held to this node's journal, which it would
/// trail without end.
/// </summary>
public sealed class ClickHouseHealthCheck(ClickHouseClient client, IOptions<ClickHouseOptions> options, ClickHouseSyncState? syncState = null) : IHealthCheck
{
    /// <summary>What the description says of a sync that does not run in this process.</summary>
    public const string NotRunningHere = "the sync does not run on this node (on a cluster only the leader writes to ClickHouse)";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var timeout = options.Value.HealthTimeout;
        var sync = syncState?.Snapshot();
        // Not running here: only whether ClickHouse answers counts, and the description says why.
        var notHere = sync is { Running: false } ? $"; {NotRunningHere}" : null;
        if (notHere is not null)
        {
            sync = null;
        }

        var data = sync is null ? null : Data(sync);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        string answer;
        try
        {
            answer = (await client.QueryAsync("SELECT 1", cts.Token)).Trim();
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var reason = ex is OperationCanceledException ? $"no answer within {timeout.TotalMilliseconds:0} ms" : ex.Message;
            return new HealthCheckResult(context.Registration.FailureStatus, $"{client.DisplayUrl}: {reason}{notHere ?? SyncSuffix(sync)}", data: data);
        }

        if (answer != "1")
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"{client.DisplayUrl} answered SELECT 1 with '{answer}'", data: data);
        }

        if (sync is { Failing: true })
        {
            return new HealthCheckResult(context.Registration.FailureStatus,
                $"{client.DisplayUrl} answers, but the sync has failed {sync.ConsecutiveFailures} times since {sync.FailingSince:O} " +
                $"({sync.EventsBehind} events behind): {sync.LastError}", data: data);
        }

        if (sync is not null && sync.LagSeconds > syncState!.DegradedLag.TotalSeconds)
        {
            return new HealthCheckResult(context.Registration.FailureStatus,
                $"{client.DisplayUrl} answers, but the sync lags {sync.LagSeconds:0.0} s (over {syncState.DegradedLag.TotalSeconds:0.###} s), {sync.EventsBehind} events behind", data: data);
        }

        return HealthCheckResult.Healthy($"{client.DisplayUrl} answered SELECT 1{notHere ?? SyncSuffix(sync)}", data);
    }

    private static string SyncSuffix(SyncStatus? sync) => sync is null
        ? ""
        : string.Create(CultureInfo.InvariantCulture, $"; sync at seq {sync.Checkpoint}{CheckpointNote(sync)}, {sync.EventsBehind} behind, lag {sync.LagSeconds:0.000} s");

    /// <summary>
    /// Says when the position is DuckDB's copy of the checkpoint, not ClickHouse's own: after a start while ClickHouse
    /// is away, the figures are against the last seq known to be in ClickHouse.
    /// </summary>
    private static string CheckpointNote(SyncStatus sync) => sync.CheckpointSource == SyncStatus.FromDuckDb
        ? " (DuckDB's copy of the checkpoint: ClickHouse not read since the start)"
        : "";

    private static Dictionary<string, object> Data(SyncStatus sync) => new()
    {
        ["checkpoint"] = sync.Checkpoint,
        ["checkpointSource"] = sync.CheckpointSource ?? "",
        ["eventsBehind"] = sync.EventsBehind,
        ["lagSeconds"] = sync.LagSeconds,
        ["consecutiveFailures"] = sync.ConsecutiveFailures,
    };
}
