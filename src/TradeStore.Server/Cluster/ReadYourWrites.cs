using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.Extensions.DependencyInjection;
using TradeStore.Cluster;
using TradeStore.Server.Api;
using TradeStore.Server.Configuration;
using TradeStore.Storage.Engine;

namespace TradeStore.Server.Cluster;

/// <summary>
/// Read-your-writes across nodes (issue #14), on every node, standalone too: every answer to an authenticated caller
/// carries <c>TradeStore-Seq</c>, the last journal seq this node holds (in its index: what GET, lists and positions serve): for
/// a write when it answers (at least the write's seq); for a read (<c>GET</c>, <c>HEAD</c>) before the read, so the
/// answer holds every event up to it (a trade with a later <c>lastSeq</c> moved since); for positions the one seq they
/// were read at, every event up to it and none after (<see cref="AnsweredAt"/>). And
/// any request under <c>/v1</c> with <c>?minSeq=N</c> first waits up to <c>Cluster:ReadWaitTimeout</c> for this node to hold N
/// (<c>POST /v1/query</c>: for DuckDB to hold it), else answers <c>503 seq-not-reached</c>. A client that wrote on the
/// leader (answer seq S) and reads on a follower with <c>?minSeq=S</c> sees its write. The parameter is taken off the
/// query before the endpoint sees it, so endpoints that refuse unknown parameters accept it; the query as sent stays
/// available (<see cref="OriginalQuery"/>). A write on a node that does not lead is not held up: the
/// <see cref="WriteGate"/> answers it at once (307 to the leader with the query as sent, <c>minSeq</c> included, or
/// <c>503 no-leader</c>), and the leader waits for the seq if it must.
/// </summary>
public static class ReadYourWrites
{
    public const string SeqHeader = "TradeStore-Seq";
    public const string MinSeqParameter = "minSeq";
    private const string ApiPrefix = "/v1";

    /// <summary>The key of <see cref="HttpContext.Items"/> that holds the query as sent, before <c>minSeq</c> was taken off.</summary>
    private static readonly object OriginalQueryKey = new();

    /// <summary>The key of <see cref="HttpContext.Items"/> that holds the seq a read's answer is as of (<see cref="AnsweredAt"/>).</summary>
    private static readonly object AnsweredAtKey = new();

    /// <summary>The request's query as the client sent it: with <c>minSeq</c>, which the endpoints do not see.</summary>
    public static QueryString OriginalQuery(HttpContext context) =>
        context.Items.TryGetValue(OriginalQueryKey, out var original) && original is QueryString query ? query : context.Request.QueryString;

    /// <summary>Adds the header and the wait; call after authentication and authorization are in the pipeline.</summary>
    public static void Use(WebApplication app, TradeStoreSettings settings)
    {
        var engine = app.Services.GetRequiredService<WriteEngine>();
        var cluster = app.Services.GetService<ClusterState>();
        var timeout = settings.Cluster.ReadWaitTimeout;
        app.Use(async (context, next) =>
        {
            if (context.User.Identity?.IsAuthenticated != true)
            {
                // By design nothing for a caller without a key (the health probes, /openapi, /console): the seq counts
                // every account's writes, and an anonymous ?minSeq= held a request for Cluster:ReadWaitTimeout.
                await next(context);
                return;
            }

            context.Response.OnStarting(() =>
            {
                var seq = context.Items.TryGetValue(AnsweredAtKey, out var answered) && answered is long at ? at : engine.LastSeq;
                context.Response.Headers[SeqHeader] = seq.ToString(CultureInfo.InvariantCulture);
                return Task.CompletedTask;
            });
            if (context.GetEndpoint() is null)
            {
                // No endpoint answers the path: the 404 comes next, at once. A bad minSeq there was answered 400 naming
                // minSeq, and one not reached held the request for Cluster:ReadWaitTimeout and answered 503.
                await next(context);
                return;
            }

            // By design only the API under /v1 (where /openapi/v1.json declares it): a health probe, /metrics, the
            // document and the console answer what they hold now, and ignore minSeq as they ignore any parameter.
            if (context.Request.Path.StartsWithSegments(ApiPrefix) && context.Request.Query.TryGetValue(MinSeqParameter, out var values))
            {
                if (values.Count != 1 || !long.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out var minSeq))
                {
                    await ApiResults.Problem(context, Problems.Validation(MinSeqParameter, "minSeq must be one whole number, 0 or more: the TradeStore-Seq of the answer to your write.")).ExecuteAsync(context);
                    return;
                }

                var query = new QueryBuilder(context.Request.Query.Where(p => p.Key != MinSeqParameter).SelectMany(p => p.Value.Select(v => new KeyValuePair<string, string>(p.Key, v ?? string.Empty))));
                context.Items[OriginalQueryKey] = context.Request.QueryString;
                context.Request.QueryString = query.ToQueryString();
                context.Request.Query = new QueryCollection(context.Request.Query.Where(p => p.Key != MinSeqParameter).ToDictionary(p => p.Key, p => p.Value));
                if (cluster is { LeaderTerm: 0 } && WriteGate.IsWrite(context.GetEndpoint()))
                {
                    // Redirected (or refused) by the write gate with nothing applied here: no wait for a seq it does not need.
                    await next(context);
                    return;
                }

                var started = Stopwatch.GetTimestamp();
                var reached = await engine.WaitSeqAsync(minSeq, timeout, context.RequestAborted);
                if (reached && context.Request.Path.StartsWithSegments("/v1/query"))
                {
                    var left = timeout - Stopwatch.GetElapsedTime(started);
                    reached = await engine.WaitAppliedAsync(minSeq, left > TimeSpan.Zero ? left : TimeSpan.Zero);
                }

                if (!reached)
                {
                    // A query reads DuckDB, applied behind the log: name what it lacks, not the log's end (which may hold N).
                    var problem = context.Request.Path.StartsWithSegments("/v1/query") && engine.LastSeq >= minSeq
                        ? ReplicationProblems.SeqNotApplied(minSeq, engine.AppliedSeq, Stopwatch.GetElapsedTime(started))
                        : ReplicationProblems.SeqNotReached(minSeq, engine.LastSeq, Stopwatch.GetElapsedTime(started));
                    await ApiResults.Problem(context, problem).ExecuteAsync(context);
                    return;
                }
            }

            if (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
            {
                // A read holds every event up to the seq this node held before it started (the index moves before
                // LastSeq does); taken after it, the header could name events the answer lacks.
                context.Items.TryAdd(AnsweredAtKey, engine.LastSeq);
            }

            await next(context);
        });
    }

    /// <summary>
    /// Sets the answer's <c>TradeStore-Seq</c> to <paramref name="seq"/>, the seq a read was taken at, in place of the
    /// one this node held before the read (a read's default) or when answering (a write's).
    /// </summary>
    public static void AnsweredAt(HttpContext context, long seq) => context.Items[AnsweredAtKey] = seq;
}
