using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TradeStore.Core.Trades;
using TradeStore.Server.Api;
using TradeStore.Server.Configuration;
using TradeStore.Server.Security;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Journal;

namespace TradeStore.Server.Changes;

/// <summary>
/// <c>GET /v1/changes</c>: the journal as Server-Sent Events, replayed from <c>?fromSeq=</c> or <c>Last-Event-ID</c>
/// and then followed live; filtered by <c>account=</c> and <c>symbol=</c> within the caller's accounts. A position past
/// this node's journal waits up to <c>Cluster:ReadWaitTimeout</c> for it, as <c>?minSeq=</c> does, else is refused with
/// 503 <c>seq-not-reached</c> before any byte of the stream.
/// </summary>
public static class ChangesEndpoint
{
    public const string Path = "/v1/changes";
    public const string LastEventIdHeader = "Last-Event-ID";
    public const string ContentType = "text/event-stream";

    private static readonly string[] Parameters = ["fromSeq", "account", "symbol"];

    /// <summary>Registers the feed as a commit observer of the WriteEngine (its options, section <c>Changes</c>, come from <see cref="TradeStoreServices.AddTradeStoreOptions"/>).</summary>
    public static void AddServices(IServiceCollection services)
    {
        services.AddSingleton<ChangeFeed>();
        services.AddSingleton<ICommitObserver>(sp => sp.GetRequiredService<ChangeFeed>());
    }

    /// <param name="app">The routes.</param>
    /// <param name="settings">Its <c>Cluster:ReadWaitTimeout</c> bounds the wait for a position past the journal's end.</param>
    public static void Map(IEndpointRouteBuilder app, TradeStoreSettings settings)
    {
        var readWait = settings.Cluster.ReadWaitTimeout;
        app.MapGet(Path, context => StreamAsync(context, readWait)).RequireAuthorization(SecurityPolicies.Read);
    }

    private static async Task StreamAsync(HttpContext context, TimeSpan readWait)
    {
        var request = context.Request;
        var services = context.RequestServices;
        var feed = services.GetRequiredService<ChangeFeed>();
        var options = services.GetRequiredService<IOptions<ChangeFeedOptions>>().Value;
        if (Parse(request, AccountAccess.Scope(context), out var afterSeq, out var positionField, out var filter) is { } problem)
        {
            await ApiResults.Problem(context, problem).ExecuteAsync(context);
            return;
        }

        if (afterSeq is { } after && await PositionProblemAsync(context, positionField!, after, readWait) is { } notReached)
        {
            if (!context.RequestAborted.IsCancellationRequested)
            {
                await ApiResults.Problem(context, notReached).ExecuteAsync(context);
            }

            return;
        }

        var keyName = LimitPartition.Of(context).KeyName;
        var admission = feed.TryAdmit(keyName);
        if (admission != SubscriberAdmission.Admitted)
        {
            var refusal = admission == SubscriberAdmission.KeyFull
                ? ChangeProblems.TooManySubscribersForKey(keyName!, options.MaxSubscribersPerKey)
                : ChangeProblems.TooManySubscribers(options.MaxSubscribers);
            await ApiResults.Problem(context, refusal).ExecuteAsync(context);
            return;
        }

        try
        {
            var journal = services.GetRequiredService<IJournalSource>();
            // Without a position the stream carries only what commits from now on.
            var start = afterSeq ?? journal.LastSeq();
            var response = context.Response;
            response.ContentType = ContentType;
            response.Headers.CacheControl = "no-cache";
            response.Headers["X-Accel-Buffering"] = "no";
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            // The comment sends the headers at once, so a client knows it is subscribed before the first event. The id
            // without data dispatches nothing but sets the client's last event id (EventSource, SseParser.LastEventId): a
            // client that reconnects before its first event resumes from where it began, not from "now".
            response.BodyWriter.Write(System.Text.Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $": tradestore change feed after seq {start}\nid: {start}\nretry: 1000\n\n")));
            await response.BodyWriter.FlushAsync(context.RequestAborted);

            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ChangesEndpoint).FullName!);
            var subscriber = $"{(keyName is null ? "(no key)" : $"key '{keyName}'")} from {context.Connection.RemoteIpAddress}";
            var stream = new ChangeStream(feed, journal, options, services.GetService<TimeProvider>() ?? TimeProvider.System, logger, subscriber);
            var stopping = services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            await stream.RunAsync(response.BodyWriter, start, filter!, context.RequestAborted, stopping);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left before the first byte.
        }
        finally
        {
            feed.Release(keyName);
        }
    }

    /// <summary>
    /// <see langword="null"/> once this node holds <paramref name="afterSeq"/>, the last event the client has (waiting up
    /// to <paramref name="readWait"/>), else the 503 naming the field that gave it. By design "from the next event" is
    /// always valid: a client that has seen the last event resumes at the journal's end + 1 and gets the next commit. A
    /// position further on would otherwise be followed from there, skipping the events in between without a sign.
    /// </summary>
    private static async Task<ApiProblem?> PositionProblemAsync(HttpContext context, string field, long afterSeq, TimeSpan readWait)
    {
        var engine = context.RequestServices.GetRequiredService<WriteEngine>();
        if (engine.LastSeq >= afterSeq)
        {
            return null;
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            if (await engine.WaitSeqAsync(afterSeq, readWait, context.RequestAborted))
            {
                return null;
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left while waiting: nothing to answer (the caller sees the token).
        }

        return ChangeProblems.SeqNotReached(field, afterSeq, engine.LastSeq, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>The position (and the field that gave it) and filter of the request, or the problem with it.</summary>
    private static ApiProblem? Parse(HttpRequest request, AccountScope scope, out long? afterSeq, out string? positionField, out ChangeFilter? filter)
    {
        afterSeq = null;
        positionField = null;
        filter = null;
        if ((QueryParameters.Check(request.Query, Parameters) ?? QueryParameters.CheckNames(request.Query)) is { } unknown)
        {
            return unknown;
        }

        // fromSeq is checked even when Last-Event-ID wins over it: a bad one is refused, never silently ignored (the
        // URL a reconnecting EventSource repeats was accepted once, so its fromSeq is good).
        if (Value(request.Query, "fromSeq") is { } fromText)
        {
            if (!long.TryParse(fromText, NumberStyles.None, CultureInfo.InvariantCulture, out var from) || from < 1)
            {
                return ChangeProblems.BadSeq("fromSeq", fromText);
            }

            afterSeq = from - 1;
            positionField = "fromSeq";
        }

        // By design Last-Event-ID wins over fromSeq: a reconnecting EventSource repeats the original URL and adds the header.
        if (request.Headers.TryGetValue(LastEventIdHeader, out var lastEventId) && !string.IsNullOrEmpty(lastEventId[0]))
        {
            if (lastEventId.Count > 1 || !long.TryParse(lastEventId[0], NumberStyles.None, CultureInfo.InvariantCulture, out var last))
            {
                return ChangeProblems.BadSeq(LastEventIdHeader, lastEventId.ToString());
            }

            afterSeq = last;
            positionField = LastEventIdHeader;
        }

        var account = Value(request.Query, "account");
        if (account is not null && !scope.Allows(account))
        {
            return Problems.AccountReadForbidden(account, scope.Accounts);
        }

        filter = new ChangeFilter(scope, account, Value(request.Query, "symbol"));
        return null;
    }

    private static string? Value(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var values) && !string.IsNullOrEmpty(values[0]) ? values[0] : null;
}
