using System.Globalization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TradeStore.Cluster;
using TradeStore.Server.Api;
using TradeStore.Server.Security;

namespace TradeStore.Server.Cluster;

/// <summary>
/// The endpoint filter in front of every write of the trade API in a cluster:
/// <list type="bullet">
/// <item>on a follower, <c>307 Temporary Redirect</c> to the same path and query on the leader (the query as sent,
/// <c>minSeq</c> included; method and body are kept, so <c>curl -L</c> and common clients follow it), at once, before
/// any <c>minSeq</c> wait (<see cref="ReadYourWrites"/>), or <c>503 no-leader</c> with <c>Retry-After</c> when no
/// leader is known, or this node could not renew its own lease (it has not reached etcd for about the lease's TTL, so the
/// leader it last saw may be gone: <see cref="ClusterState.WriteTarget"/>); nothing is applied;</item>
/// <item>on the leader, the fence: a command that succeeded is acknowledged only if the lease can still be relied on
/// after it completed; otherwise <c>503 leadership-lost</c>. The answer carries <c>TradeStore-Term</c>.</item>
/// </list>
/// </summary>
public static class WriteGate
{
    public const string TermHeader = "TradeStore-Term";

    /// <summary>Adds the gate to the writes (endpoints with the write policy) mapped under <paramref name="group"/>.</summary>
    public static RouteGroupBuilder Apply(RouteGroupBuilder group)
    {
        group.AddEndpointFilter(GateAsync);
        return group;
    }

    /// <summary>Whether the endpoint is a write: mapped with the write policy.</summary>
    public static bool IsWrite(Endpoint? endpoint) =>
        endpoint?.Metadata.GetOrderedMetadata<IAuthorizeData>().Any(a => a.Policy == SecurityPolicies.Write) == true;

    private static async ValueTask<object?> GateAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        if (!IsWrite(context.GetEndpoint()))
        {
            return await next(invocation);
        }

        var state = context.RequestServices.GetRequiredService<ClusterState>();
        var term = state.LeaderTerm;
        if (term == 0)
        {
            return Refuse(context, state);
        }

        var result = await next(invocation);
        if (result is IStatusCodeHttpResult { StatusCode: >= 200 and < 300 } && state.LeaderTerm != term)
        {
            context.RequestServices.GetRequiredService<ClusterMetrics>().WriteRefused("lease_lost");
            Log.WriteNotAcknowledged(Logger(context), context.Request.Method, context.Request.Path, term);
            return ApiResults.Problem(context, ClusterProblems.LeadershipLost(term));
        }

        context.Response.Headers[TermHeader] = term.ToString(CultureInfo.InvariantCulture);
        return result;
    }

    private static IResult Refuse(HttpContext context, ClusterState state)
    {
        if (state.WriteTarget is { } leader)
        {
            context.RequestServices.GetRequiredService<ClusterMetrics>().WriteRefused("redirected");
            context.Response.Headers[TermHeader] = leader.Term.ToString(CultureInfo.InvariantCulture);
            // The query as sent: minSeq included, which ReadYourWrites took off for the endpoints.
            var location = leader.Url + context.Request.PathBase + context.Request.Path + ReadYourWrites.OriginalQuery(context);
            return Results.Redirect(location, permanent: false, preserveMethod: true);
        }

        context.RequestServices.GetRequiredService<ClusterMetrics>().WriteRefused("no_leader");
        return ApiResults.Problem(context, ClusterProblems.NoLeader());
    }

    private static ILogger Logger(HttpContext context) =>
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WriteGate).FullName!);
}
