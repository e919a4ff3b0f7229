using System.Globalization;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text.Json;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore tail --url</c>: follows a running server's <c>GET /v1/changes</c> (Server-Sent Events) and prints each
/// event's JSON on its own line. Reconnects after a dropped connection with <c>Last-Event-ID</c>, and after the
/// server's final <c>event: error</c> from its <c>resumeFromSeq</c>, so nothing is skipped or printed twice.
/// </summary>
public sealed class ChangeFeedTail(Uri server, string? apiKey, TextWriter output, TextWriter error)
{
    /// <summary>The variable that holds the API key (a key on the command line would show in the process list).</summary>
    public const string ApiKeyVariable = "TRADESTORE_API_KEY";

    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>Follows the feed until <paramref name="stop"/>; the exit code.</summary>
    /// <param name="fromSeq">First seq to print; <see langword="null"/> for only new events.</param>
    public async Task<int> RunAsync(long? fromSeq, string? account, string? symbol, CancellationToken stop)
    {
        using var http = new HttpClient { BaseAddress = server, Timeout = Timeout.InfiniteTimeSpan };
        if (!string.IsNullOrEmpty(apiKey))
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        var query = Query(fromSeq, account, symbol);
        string? lastEventId = null;
        var connected = false;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/changes" + query);
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
                if (lastEventId is not null)
                {
                    request.Headers.Add("Last-Event-ID", lastEventId);
                }

                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop);
                if (!response.IsSuccessStatusCode)
                {
                    error.WriteLine($"tradestore: {server} answered {(int)response.StatusCode}: {await DetailAsync(response, stop)}");
                    return (int)response.StatusCode == 400 ? ExitCodes.BadInput : ExitCodes.Failure;
                }

                connected = true;
                await using var body = await response.Content.ReadAsStreamAsync(stop);
                await foreach (var item in SseParser.Create(body).EnumerateAsync(stop))
                {
                    if (item.EventType == "error")
                    {
                        using var end = JsonDocument.Parse(item.Data);
                        var resume = end.RootElement.GetProperty("resumeFromSeq").GetInt64();
                        lastEventId = (resume - 1).ToString(CultureInfo.InvariantCulture);
                        error.WriteLine($"tradestore: the server closed the stream ({end.RootElement.GetProperty("title").GetString()}); resuming from seq {resume}");
                        break;
                    }

                    output.WriteLine(item.Data);
                    output.Flush();
                    lastEventId = item.EventId ?? lastEventId;
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                if (!connected)
                {
                    error.WriteLine($"tradestore: {server} did not answer: {ex.Message}");
                    return ExitCodes.Failure;
                }

                error.WriteLine($"tradestore: connection lost ({ex.Message}); reconnecting");
            }

            try
            {
                await Task.Delay(RetryDelay, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return ExitCodes.Success;
    }

    private static string Query(long? fromSeq, string? account, string? symbol)
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

        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }

    private static async Task<string> DetailAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            using var problem = JsonDocument.Parse(text);
            return problem.RootElement.TryGetProperty("detail", out var detail) ? detail.GetString() ?? text : text;
        }
        catch (JsonException)
        {
            return text;
        }
    }
}
