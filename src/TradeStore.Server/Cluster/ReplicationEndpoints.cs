using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;
using TradeStore.Cluster;
using TradeStore.Core.Security;
using TradeStore.Core.Threading;
using TradeStore.Server.Api;
using TradeStore.Server.Security;
using TradeStore.Storage.CommitLog;

namespace TradeStore.Server.Cluster;

/// <summary>
/// The leader's replication endpoints (issue #14), admin role when API keys are configured:
/// <list type="bullet">
/// <item><c>POST /v1/replication/stream</c>: after checking that the follower's last record is also in this log with the
/// same term, a long-lived chunked HTTP/1.1 answer carrying the journal records from <c>fromSeq</c> framed exactly as
/// on disk, then every record as soon as it is fsynced, with heartbeats while idle. It ends as soon as this node stops
/// leading in the term it was opened in, or has handed over at shutdown (<see cref="ReplicationHub.HandOverAsync"/>).</item>
/// <item><c>POST /v1/replication/acks?node=N&amp;incarnation=I&amp;term=T</c>: a follower's acknowledgements for one stream, each its durable
/// seq (<see cref="AckFrames"/>), on a body that stays open; 409 <c>stale-term</c> (and ignored) once the term is not the
/// one this node leads in.</item>
/// </list>
/// </summary>
public static class ReplicationEndpoints
{
    public const string StreamPath = "/v1/replication/stream";
    public const string AcksPath = "/v1/replication/acks";
    private const int MaxRecordsPerWrite = 4096;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost(StreamPath, StreamAsync).RequireAuthorization(p => p.RequireRole(ApiRoles.Admin)).AddEndpointFilter(EveryAccount).DisableRateLimiting();
        app.MapPost(AcksPath, AcksAsync).RequireAuthorization(p => p.RequireRole(ApiRoles.Admin)).AddEndpointFilter(EveryAccount).DisableRateLimiting();
    }

    /// <summary>
    /// Refuses a key scoped to accounts (403), admin or not: the stream carries every account's trades, and an
    /// acknowledgement speaks for a follower's copy of all of them (a forged one could stand in for a synchronous replica).
    /// </summary>
    private static ValueTask<object?> EveryAccount(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next) =>
        AccountAccess.Scope(invocation.HttpContext).IsAll
            ? next(invocation)
            : ValueTask.FromResult<object?>(ApiResults.Problem(invocation.HttpContext, Problems.Forbidden(
                "A key scoped to accounts cannot replicate: the journal stream holds every account's trades. Followers use an admin key without Accounts.")));

    /// <summary>
    /// A follower's acknowledgements for one stream: <see cref="AckFrames"/> on a request body that stays open until the
    /// follower closes it (204) or this node's term ends (409 <c>stale-term</c> for an acknowledgement of an older term,
    /// 503 when the term ends here). By design not ended by the host's <c>ApplicationStopping</c>: a leader that stops
    /// hands over first and waits for these acknowledgements (<see cref="ReplicationHub.HandOverAsync"/>).
    /// </summary>
    private static async Task<IResult> AcksAsync(HttpContext context, ReplicationHub hub, ClusterState state)
    {
        var node = context.Request.Query["node"].ToString();
        if (string.IsNullOrWhiteSpace(node))
        {
            return ApiResults.Problem(context, Problems.Validation("node", "node is required: the follower's Cluster:Node."));
        }

        // By design required: a sync member's acknowledgements count only from its own data directory (ReplicationHub).
        var incarnation = context.Request.Query["incarnation"].ToString();
        if (string.IsNullOrWhiteSpace(incarnation))
        {
            return ApiResults.Problem(context, Problems.Validation("incarnation",
                "incarnation is required: the identity of the follower's data directory. A follower that sends none runs a build from before " +
                "data-directory identities (2026-12-02): its acknowledgements never count toward Cluster:SyncReplicas; upgrade it."));
        }

        var follower = new SyncMember(node, incarnation);
        if (!long.TryParse(context.Request.Query["term"], NumberStyles.None, CultureInfo.InvariantCulture, out var term) || term == 0)
        {
            return ApiResults.Problem(context, Problems.Validation("term", "term is required: the leader term the follower follows, a positive whole number."));
        }

        if (term != hub.Term)
        {
            return ApiResults.Problem(context, ReplicationProblems.StaleTerm(term, hub.Term));
        }

        // By design a body without end: no size limit and no minimum data rate (an idle follower sends nothing).
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = null;
        }

        if (context.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }

        using var termEnd = new StreamTerm(state, hub, term);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, termEnd.Token);
        var reader = context.Request.BodyReader;
        var frame = new byte[AckFrames.Size];
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(stop.Token);
                var frames = read.Buffer;
                var durable = -1L;
                while (frames.Length >= AckFrames.Size)
                {
                    frames.Slice(0, AckFrames.Size).CopyTo(frame);
                    durable = Math.Max(durable, BinaryPrimitives.ReadInt64LittleEndian(frame));
                    frames = frames.Slice(AckFrames.Size);
                }

                var partial = frames.Length;
                reader.AdvanceTo(frames.Start, frames.End);
                if (durable >= 0 && !hub.Acknowledge(follower, term, durable))
                {
                    return ApiResults.Problem(context, ReplicationProblems.StaleTerm(term, hub.Term));
                }

                if (read.IsCompleted)
                {
                    return partial == 0
                        ? Results.NoContent()
                        : ApiResults.Problem(context, Problems.Validation(null, $"The body ended inside an acknowledgement ({partial} of {AckFrames.Size} bytes)."));
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // the follower went away, or this node's term ended (it stopped leading, or handed over at shutdown)
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }
        catch (BadHttpRequestException)
        {
            // the connection broke inside a chunk
            return Results.Empty;
        }
    }

    private static async Task StreamAsync(HttpContext context, ReplicationHub hub, ClusterState state, JournalLog log, UnidentifiedFollowers unidentified,
        ILoggerFactory loggers)
    {
        var (request, problem) = await ReadAsync(context, ReplicationJson.Default.ReplicationStreamRequest);
        // The check may read the log files; a follower far behind is served from them too.
        await SocketEventThreads.LeaveAsync();
        problem ??= Check(request!, state, hub, log);
        if (problem is not null)
        {
            if (problem.Type == ReplicationProblems.LogDivergedType)
            {
                context.Response.Headers[ReplicationFrames.LeaderLastSeqHeader] = log.LastSeq.ToString(CultureInfo.InvariantCulture);
                context.Response.Headers[ReplicationFrames.LeaderTermsHeader] = TermRun.Format(log.TermRuns);
            }

            await ApiResults.Problem(context, problem).ExecuteAsync(context);
            return;
        }

        var term = state.LeaderTerm;
        var logger = loggers.CreateLogger(typeof(ReplicationEndpoints).FullName!);
        Log.StreamOpened(logger, request!.Node, request.FromSeq, term);
        using var withoutIdentity = string.IsNullOrEmpty(request.Incarnation) ? unidentified.Streaming(request.Node, term) : null;
        if (withoutIdentity is not null)
        {
            Log.FollowerWithoutIdentity(logger, request.Node, term);
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = ReplicationFrames.ContentType;
        context.Response.Headers[WriteGate.TermHeader] = term.ToString(CultureInfo.InvariantCulture);
        await context.Response.StartAsync(context.RequestAborted);
        var next = request.FromSeq;
        var aborted = context.RequestAborted;
        using var termEnd = new StreamTerm(state, hub, term);
        // By design one heartbeat timer at a time, kept across appends: a timer per wait cost one per replicated group.
        Task? heartbeatDue = null;
        try
        {
            while (!aborted.IsCancellationRequested && !termEnd.Ended.IsCompleted)
            {
                var appended = hub.NextAppend;
                if (!hub.InMemory(next))
                {
                    await SocketEventThreads.LeaveAsync();
                }

                var records = hub.Read(next, MaxRecordsPerWrite);
                if (records.Count > 0)
                {
                    await WriteAsync(context.Response, records, aborted);
                    next = records[^1].Seq + 1;
                    continue;
                }

                heartbeatDue ??= Task.Delay(ReplicationFrames.HeartbeatInterval, aborted);
                if (await Task.WhenAny(appended, heartbeatDue, termEnd.Ended) == heartbeatDue)
                {
                    heartbeatDue = null;
                    aborted.ThrowIfCancellationRequested();
                    var heartbeat = new byte[LogRecordFormat.HeaderSize];
                    ReplicationFrames.WriteHeartbeat(term, heartbeat);
                    await context.Response.Body.WriteAsync(heartbeat, aborted);
                    await context.Response.Body.FlushAsync(aborted);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // the follower went away
        }
        catch (ArgumentOutOfRangeException)
        {
            // records recycled under the stream: the follower reconnects and is told 410
        }
        finally
        {
            hub.Forget(new SyncMember(request.Node, request.Incarnation ?? string.Empty), term);
            Log.StreamClosed(logger, request.Node, next - 1, term);
        }
    }

    private static ApiProblem? Check(ReplicationStreamRequest request, ClusterState state, ReplicationHub hub, JournalLog log)
    {
        if (string.IsNullOrWhiteSpace(request.Node))
        {
            return Problems.Validation("node", "node is required: the follower's Cluster:Node.");
        }

        if (request.PrevSeq < 0 || request.FromSeq != request.PrevSeq + 1)
        {
            return Problems.Validation("fromSeq", $"fromSeq must be prevSeq + 1 (the seq after the follower's last record); got fromSeq {request.FromSeq}, prevSeq {request.PrevSeq}.");
        }

        var term = state.LeaderTerm;
        if (term == 0 || request.Term > term)
        {
            return ClusterProblems.NoLeader();
        }

        // The stream sends what is written before the leader's own fsync ends (ReplicationHub.Appended), so a follower
        // may already hold a little more than this log's durable end.
        if (request.PrevSeq > hub.LastSeq)
        {
            return ReplicationProblems.LogDiverged(request, log.LastSeq, null);
        }

        if (request.FromSeq < log.FirstSeq)
        {
            return ReplicationProblems.Recycled(request.FromSeq, log.FirstSeq);
        }

        if (request.PrevSeq > 0 && request.PrevSeq >= log.FirstSeq)
        {
            var here = hub.Read(request.PrevSeq, 1);
            if (here.Count == 1 && here[0].Term != request.PrevTerm)
            {
                return ReplicationProblems.LogDiverged(request, log.LastSeq, here[0].Term);
            }
        }

        return null;
    }

    private static async Task WriteAsync(HttpResponse response, List<LogRecord> records, CancellationToken cancellationToken)
    {
        var size = 0;
        foreach (var record in records)
        {
            size += LogRecordFormat.FramedSize(record.Payload.Length);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var offset = 0;
            foreach (var record in records)
            {
                offset += LogRecordFormat.Write(record, buffer.AsSpan(offset));
            }

            await response.Body.WriteAsync(buffer.AsMemory(0, size), cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<(T? Value, ApiProblem? Problem)> ReadAsync<T>(HttpContext context, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
        where T : class
    {
        try
        {
            var value = await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted);
            return value is null ? (null, Problems.Validation(null, "The body must be a JSON object.")) : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, Problems.Validation(ex.Path?.TrimStart('$', '.'), $"The body is not valid JSON for this request: {ex.Message}"));
        }
    }
}
