using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text.Json;
using TradeStore.Server.Configuration;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore tail --url</c>: follows a running server's <c>GET /v1/changes</c> (Server-Sent Events) and prints each
/// event's JSON on its own line. Reconnects after a dropped connection with <c>Last-Event-ID</c>, and after the
/// server's final <c>event: error</c> from its <c>resumeFromSeq</c>, so nothing is skipped or printed twice. Once it
/// has followed the feed, a server that is away or answers 429/502/503/504 (restarting, <c>too-many-subscribers</c>,
/// <c>seq-not-reached</c>, the key's limits, a gateway without its backend) is retried with back-off, honouring <c>Retry-After</c>;
/// any other refusal ends it with its exit code. A path in the URL is kept (a gateway prefix).
/// </summary>
public sealed class ChangeFeedTail(Uri server, string? apiKey, TextWriter output, TextWriter error)
{
    /// <summary>The variable that holds the API key (a key on the command line would show in the process list).</summary>
    public const string ApiKeyVariable = "TRADESTORE_API_KEY";

    /// <summary>
    /// The key in <see cref="ApiKeyVariable"/>, without the blanks and line ends around it (a value read from a file, as a
    /// Kubernetes secret or <c>$(cat key)</c> in some shells gives it, ends with a newline, which no header may hold: tail
    /// died of an unhandled exception, exit 134). A key never holds a blank or a control character.
    /// </summary>
    /// <exception cref="ConfigurationException">The value holds a blank or a control character inside (never shown).</exception>
    public static string? ApiKeyFromEnvironment()
    {
        var key = Environment.GetEnvironmentVariable(ApiKeyVariable)?.Trim();
        if (key is not null && key.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new ConfigurationException($"{ApiKeyVariable} holds a blank or a control character inside the key; set it to the key alone, as `tradestore keys new` printed it.");
        }

        return key;
    }

    /// <summary>The feed, relative to the base address, so a path in <c>--url</c> (a gateway's prefix) is kept.</summary>
    public const string RelativePath = "v1/changes";

    /// <summary>The media type of the feed's answer: anything else is not a TradeStore server's change feed.</summary>
    private const string ChangeFeedMediaType = "text/event-stream";

    /// <summary>The first wait before a reconnect; each further failure in a row doubles it up to <see cref="LongestRetryDelay"/>.</summary>
    public static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between attempts, also for a larger <c>Retry-After</c>.</summary>
    public static readonly TimeSpan LongestRetryDelay = TimeSpan.FromSeconds(30);

    /// <summary>Follows the feed until <paramref name="stop"/>; the exit code.</summary>
    /// <param name="fromSeq">First seq to print; <see langword="null"/> for only new events.</param>
    public async Task<int> RunAsync(long? fromSeq, string? account, string? symbol, CancellationToken stop)
    {
        using var http = new HttpClient { BaseAddress = WithTrailingSlash(server), Timeout = Timeout.InfiniteTimeSpan };
        if (!string.IsNullOrEmpty(apiKey))
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        var path = RequestPath(fromSeq, account, symbol);
        string? lastEventId = null;
        var connected = false;
        var failures = 0;
        SseParser<string>? parser = null;
        while (!stop.IsCancellationRequested)
        {
            TimeSpan? retryAfter = null;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(ChangeFeedMediaType));
                if (lastEventId is not null)
                {
                    request.Headers.Add("Last-Event-ID", lastEventId);
                }

                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop);
                if (!response.IsSuccessStatusCode)
                {
                    var refusal = $"{server} answered {(int)response.StatusCode}{await DetailAsync(response, stop)}{KeyHint(response.StatusCode)}";
                    if (!connected || !IsTransient(response.StatusCode))
                    {
                        error.WriteLine($"tradestore: {refusal}");
                        return (int)response.StatusCode == 400 ? ExitCodes.BadInput : ExitCodes.Failure;
                    }

                    retryAfter = RetryAfter(response);
                    failures++;
                    var delay = Delay(failures, retryAfter);
                    error.WriteLine($"tradestore: {refusal}; retrying in {Seconds(delay)} s from {Position(lastEventId, fromSeq)}");
                    await Task.Delay(delay, stop);
                    continue;
                }

                if (!IsEventStream(response))
                {
                    // A 200 of some other server (a web app answering every path): followed, its body printed nothing and
                    // tail reconnected every second, silently, for ever.
                    var type = response.Content.Headers.ContentType?.MediaType ?? "no Content-Type";
                    error.WriteLine($"tradestore: {server} answered {(int)response.StatusCode} with {type}, not a change feed ({ChangeFeedMediaType}): is --url a TradeStore server?");
                    return ExitCodes.Failure;
                }

                connected = true;
                failures = 0;
                await using var body = await response.Content.ReadAsStreamAsync(stop);
                parser = SseParser.Create(body);
                await foreach (var item in parser.EnumerateAsync(stop))
                {
                    if (item.EventType == "error")
                    {
                        if (ChangeFeedEnd.TryRead(item.Data) is not { } end)
                        {
                            // Not the server's final event (a proxy's, say): resume after the last event printed.
                            lastEventId = Latest(parser, lastEventId);
                            error.WriteLine($"tradestore: the stream ended with an 'error' event that is not TradeStore's ({ChangeFeedEnd.Excerpt(item.Data)}); " +
                                $"resuming from {Position(lastEventId, fromSeq)}");
                            parser = null;
                            break;
                        }

                        lastEventId = (end.ResumeFromSeq - 1).ToString(CultureInfo.InvariantCulture);
                        error.WriteLine($"tradestore: the server closed the stream ({end.Title}); resuming from seq {end.ResumeFromSeq}");
                        parser = null; // its position is the server's resumeFromSeq now, not the last id it read
                        break;
                    }

                    output.WriteLine(item.Data);
                    output.Flush();
                    lastEventId = item.EventId ?? lastEventId;
                }

                lastEventId = Latest(parser, lastEventId);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                lastEventId = Latest(parser, lastEventId);
                if (!connected)
                {
                    error.WriteLine($"tradestore: {server} did not answer: {ex.Message}");
                    return ExitCodes.Failure;
                }

                failures++;
                var delay = Delay(failures, null);
                error.WriteLine($"tradestore: connection to {server} lost ({ex.Message}); retrying in {Seconds(delay)} s from {Position(lastEventId, fromSeq)}");
                if (!await WaitAsync(delay, stop))
                {
                    break;
                }

                continue;
            }

            // The stream ended (a final event, or the server closed it): reconnect after the first delay.
            if (!await WaitAsync(FirstRetryDelay, stop))
            {
                break;
            }
        }

        return ExitCodes.Success;
    }

    /// <summary>
    /// The wait before attempt <paramref name="failures"/> + 1: the server's <c>Retry-After</c> when it sent one, else
    /// <see cref="FirstRetryDelay"/> doubled per failure in a row; never more than <see cref="LongestRetryDelay"/>.
    /// </summary>
    public static TimeSpan Delay(int failures, TimeSpan? retryAfter)
    {
        var backOff = FirstRetryDelay * Math.Pow(2, Math.Min(failures - 1, 10));
        var delay = retryAfter is { } asked && asked > TimeSpan.Zero ? asked : backOff;
        return delay < LongestRetryDelay ? delay : LongestRetryDelay;
    }

    /// <summary>The feed's path relative to the base address, with the command line's position and filters.</summary>
    public static string RequestPath(long? fromSeq, string? account, string? symbol)
    {
        var parts = new List<string>();
        if (fromSeq is { } seq)
        {
            parts.Add("fromSeq=" + seq.ToString(CultureInfo.InvariantCulture));
        }

        if (account is not null)
        {
            parts.Add("account=" + Uri.EscapeDataString(account));
        }

        if (symbol is not null)
        {
            parts.Add("symbol=" + Uri.EscapeDataString(symbol));
        }

        return RelativePath + (parts.Count == 0 ? "" : "?" + string.Join('&', parts));
    }

    /// <summary>
    /// <paramref name="address"/> ending in <c>/</c>, so the relative path is appended to its path instead of replacing
    /// its last segment (as <c>TradeStoreClient</c> does).
    /// </summary>
    public static Uri WithTrailingSlash(Uri address) =>
        address.AbsolutePath.EndsWith('/') ? address : new Uri(address.GetLeftPart(UriPartial.Path) + "/");

    /// <summary>
    /// What a 401 means for tail, which takes no key on its command line: the server's detail ("Send an API key as
    /// 'Authorization: Bearer …'") names a header a tail user cannot send.
    /// </summary>
    private string KeyHint(HttpStatusCode status) => status != HttpStatusCode.Unauthorized
        ? ""
        : string.IsNullOrEmpty(apiKey)
            ? $" (tail sends the key in {ApiKeyVariable}, which is not set)"
            : $" (the key in {ApiKeyVariable})";

    /// <summary>Whether <paramref name="response"/> is Server-Sent Events, as <c>GET /v1/changes</c> answers.</summary>
    private static bool IsEventStream(HttpResponseMessage response) =>
        string.Equals(response.Content.Headers.ContentType?.MediaType, ChangeFeedMediaType, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Refusals that a server restarting, busy or catching up gives, a gateway in front of one, and the key's own limits
    /// (429: Changes:MaxSubscribersPerKey, the request rate), which free with time and say when in Retry-After.
    /// </summary>
    private static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout or HttpStatusCode.TooManyRequests;

    private static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter is { } header
            ? header.Delta ?? (header.Date is { } date ? date - DateTimeOffset.UtcNow : null)
            : null;

    private static string Position(string? lastEventId, long? fromSeq) =>
        lastEventId is not null && long.TryParse(lastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out var last)
            ? string.Create(CultureInfo.InvariantCulture, $"seq {last + 1}")
            : fromSeq is { } first ? string.Create(CultureInfo.InvariantCulture, $"seq {first}") : "new events";

    /// <summary>
    /// The parser's last event id when it has one: the server opens each stream with an <c>id:</c> of the seq it starts
    /// after, so a reconnect before the first event still resumes there instead of at "new events".
    /// </summary>
    private static string? Latest(SseParser<string>? parser, string? lastEventId) =>
        string.IsNullOrEmpty(parser?.LastEventId) ? lastEventId : parser.LastEventId;

    private static string Seconds(TimeSpan delay) => delay.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);

    private static async Task<bool> WaitAsync(TimeSpan delay, CancellationToken stop)
    {
        try
        {
            await Task.Delay(delay, stop);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>": {type} ({detail})" of a problem answer, or ": {body}" of another.</summary>
    private static async Task<string> DetailAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            using var problem = JsonDocument.Parse(text);
            var type = problem.RootElement.TryGetProperty("type", out var t) ? t.GetString()?.Replace("urn:tradestore:problem:", "", StringComparison.Ordinal) : null;
            var detail = problem.RootElement.TryGetProperty("detail", out var d) ? d.GetString() : null;
            return (type, detail) switch
            {
                (null, null) => ": " + text,
                (null, _) => ": " + detail,
                (_, null) => " " + type,
                _ => $" {type}: {detail}",
            };
        }
        catch (JsonException)
        {
            return string.IsNullOrWhiteSpace(text) ? "" : ": " + text.Trim();
        }
    }
}
