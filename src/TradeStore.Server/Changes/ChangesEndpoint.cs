using System.Buffers;
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
using TradeStore.Server.Security;
using TradeStore.Storage.Journal;

namespace TradeStore.Server.Changes;

/// <summary>
/// <c>GET /v1/changes</c>: the journal as Server-Sent Events, replayed from <c>?fromSeq=</c> or <c>Last-Event-ID</c>
/// and then followed live; filtered by <c>account=</c> and <c>symbol=</c> within the caller's accounts.
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

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet(Path, StreamAsync).RequireAuthorization(SecurityPolicies.Read);
    }

    private static async Task StreamAsync(HttpContext context)
    {
        var request = context.Request;
        var services = context.RequestServices;
        var feed = services.GetRequiredService<ChangeFeed>();
        var options = services.GetRequiredService<IOptions<ChangeFeedOptions>>().Value;
        if (Parse(request, AccountAccess.Scope(context), out var afterSeq, out var filter) is { } problem)
        {
            await ApiResults.Problem(context, problem).ExecuteAsync(context);
            return;
        }

        if (!feed.TryAdmit())
        {
            await ApiResults.Problem(context, ChangeProblems.TooManySubscribers(options.MaxSubscribers)).ExecuteAsync(context);
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
            // The comment sends the headers at once, so a client knows it is subscribed before the first event.
            response.BodyWriter.Write(System.Text.Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $": tradestore change feed after seq {start}\nretry: 1000\n\n")));
            await response.BodyWriter.FlushAsync(context.RequestAborted);

            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ChangesEndpoint).FullName!);
            var stream = new ChangeStream(feed, journal, options, services.GetService<TimeProvider>() ?? TimeProvider.System, logger);
            var stopping = services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            await stream.RunAsync(response.BodyWriter, start, filter!, context.RequestAborted, stopping);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left before the first byte.
        }
        finally
        {
            feed.Release();
        }
    }

    /// <summary>The position and filter of the request, or the problem with it.</summary>
    private static ApiProblem? Parse(HttpRequest request, AccountScope scope, out long? afterSeq, out ChangeFilter? filter)
    {
        afterSeq = null;
        filter = null;
        if (QueryParameters.Check(request.Query, Parameters) is { } unknown)
        {
            return unknown;
        }

        // By design Last-Event-ID wins over fromSeq: a reconnecting EventSource repeats the original URL and adds the header.
        if (request.Headers.TryGetValue(LastEventIdHeader, out var lastEventId) && !string.IsNullOrEmpty(lastEventId[0]))
        {
            if (lastEventId.Count > 1 || !long.TryParse(lastEventId[0], NumberStyles.None, CultureInfo.InvariantCulture, out var last))
            {
                return ChangeProblems.BadSeq(LastEventIdHeader, lastEventId.ToString());
            }

            afterSeq = last;
        }
        else if (Value(request.Query, "fromSeq") is { } fromText)
        {
            if (!long.TryParse(fromText, NumberStyles.None, CultureInfo.InvariantCulture, out var from) || from < 1)
            {
                return ChangeProblems.BadSeq("fromSeq", fromText);
            }

            afterSeq = from - 1;
        }

        var account = Value(request.Query, "account");
        if (account is not null && !scope.Allows(account))
        {
            return ChangeProblems.AccountForbidden(account);
        }

        filter = new ChangeFilter(scope, account, Value(request.Query, "symbol"));
        return null;
    }

    private static string? Value(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var values) && !string.IsNullOrEmpty(values[0]) ? values[0] : null;
}
