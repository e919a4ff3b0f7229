using Microsoft.AspNetCore.Http;
using TradeStore.Cluster;
using TradeStore.Server.Api;

namespace TradeStore.Server.Cluster;

/// <summary>
/// <c>GET /v1/cluster</c>: the leader, its term, every live node with its role, applied seq and lag, and every member with
/// no live registration (<c>stopped</c> or <c>unreachable</c>, with <c>lastSeen</c>), as etcd holds them now.
/// </summary>
public static class ClusterEndpoint
{
    public const string Path = "/v1/cluster";

    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(2);

    public static async Task<IResult> GetAsync(HttpContext context, EtcdClusterStore store)
    {
        if (QueryParameters.Check(context.Request.Query) is { } parameter)
        {
            return ApiResults.Problem(context, parameter);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(ReadTimeout);
        try
        {
            var status = await store.ReadStatusAsync(timeout.Token);
            return Results.Json(status, ClusterJson.Default.ClusterStatus, "application/json; charset=utf-8");
        }
        catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested && EtcdClusterStore.IsEtcdFailure(ex))
        {
            // The timeout is named: when etcd accepts the connection but does not answer (paused, overloaded), the cause
            // alone is a bare "The operation was canceled.", which tells the operator nothing.
            return ApiResults.Problem(context, ClusterProblems.EtcdUnavailable(
                $"etcd {store.Endpoints} did not answer within {ReadTimeout.TotalSeconds:0} s: {store.Cause(ex)}"));
        }
    }
}
