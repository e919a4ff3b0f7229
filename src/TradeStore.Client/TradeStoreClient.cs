using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace TradeStore.Client;

/// <summary>
/// TradeStore's HTTP API as async methods: commands, reads, paged lists, positions and SQL. Quantities and prices are
/// <see cref="decimal"/> both ways. A refusal is a <see cref="TradeStoreProblemException"/>. Every command carries an
/// <c>Idempotency-Key</c> (generated unless given), and the client retries 503, 429 (after <c>Retry-After</c>), dropped
/// connections and timeouts with the same key, so a retry never writes twice. A 307/308 (a future cluster's follower)
/// is followed to the leader with the key and body.
/// </summary>
/// <example>
/// <code>
/// using var http = new HttpClient();
/// var client = new TradeStoreClient(http, new TradeStoreClientOptions { BaseAddress = new Uri("http://127.0.0.1:5080") });
/// var trade = await client.CreateTradeAsync(new NewTrade("T-1", "ACC-1", "AAPL", TradeSide.Buy, 100m, 189.25m));
/// await foreach (var t in client.TradesAsync(new TradeFilter(Account: "ACC-1"))) { Console.WriteLine(t.TradeId); }
/// </code>
/// </example>
public sealed class TradeStoreClient
{
    private const int MaxRedirects = 5;
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json") { CharSet = "utf-8" };

    private readonly HttpClient _http;
    private readonly TradeStoreClientOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    public TradeStoreClient(HttpClient http, TradeStoreClientOptions options, ILogger<TradeStoreClient>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _http = http;
        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    public Task<Trade> CreateTradeAsync(NewTrade trade, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(trade);
        return CommandAsync<Trade>(HttpMethod.Post, "v1/trades", trade, idempotencyKey, cancellationToken);
    }

    public Task<Trade> AmendAsync(string tradeId, Amendment amendment, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        CommandAsync<Trade>(HttpMethod.Post, $"v1/trades/{Escape(tradeId)}/amend", amendment, idempotencyKey, cancellationToken);

    public Task<Trade> FillAsync(string tradeId, decimal quantity, decimal price, long? expectedVersion = null, string? idempotencyKey = null,
        CancellationToken cancellationToken = default) =>
        CommandAsync<Trade>(HttpMethod.Post, $"v1/trades/{Escape(tradeId)}/fill", new FillBody(quantity, price, expectedVersion), idempotencyKey, cancellationToken);

    public Task<Trade> CancelAsync(string tradeId, long? expectedVersion = null, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        CommandAsync<Trade>(HttpMethod.Post, $"v1/trades/{Escape(tradeId)}/cancel", new CancelBody(expectedVersion), idempotencyKey, cancellationToken);

    /// <summary>Deletes a trade; the answer is its last state with status <c>deleted</c>.</summary>
    public Task<Trade> DeleteAsync(string tradeId, long expectedVersion, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        CommandAsync<Trade>(HttpMethod.Delete, $"v1/trades/{Escape(tradeId)}?expectedVersion={expectedVersion.ToString(CultureInfo.InvariantCulture)}", null, idempotencyKey,
            cancellationToken);

    /// <summary>Sends the commands together (they share group commits, later ones see earlier ones); each fails alone in its result.</summary>
    public Task<BatchResult> BatchAsync(IEnumerable<BatchCommand> commands, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commands);
        // Each item carries its own idempotency key, so a retry of the whole batch replays the items already applied.
        return SendAsync<BatchResult>(HttpMethod.Post, "v1/trades/batch", commands.ToList(), null, cancellationToken);
    }

    /// <exception cref="NotFoundException">The trade is unknown or deleted.</exception>
    public Task<Trade> GetTradeAsync(string tradeId, CancellationToken cancellationToken = default) =>
        SendAsync<Trade>(HttpMethod.Get, $"v1/trades/{Escape(tradeId)}", null, null, cancellationToken);

    public Task<TradeHistory> HistoryAsync(string tradeId, CancellationToken cancellationToken = default) =>
        SendAsync<TradeHistory>(HttpMethod.Get, $"v1/trades/{Escape(tradeId)}/history", null, null, cancellationToken);

    /// <summary>Every trade that matches, in <c>executedAt</c>, <c>tradeId</c> order, following the cursor across pages (none repeated or skipped).</summary>
    public async IAsyncEnumerable<Trade> TradesAsync(TradeFilter? filter = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        filter ??= new TradeFilter();
        string? cursor = null;
        do
        {
            var page = await SendAsync<TradePage>(HttpMethod.Get, ListPath(filter, cursor), null, null, cancellationToken).ConfigureAwait(false);
            foreach (var trade in page.Items)
            {
                yield return trade;
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }

    /// <summary>Positions of one account, or of every account the key may see.</summary>
    public async Task<IReadOnlyList<Position>> PositionsAsync(string? account = null, CancellationToken cancellationToken = default)
    {
        var path = account is null ? "v1/positions" : $"v1/positions?account={Uri.EscapeDataString(account)}";
        return (await SendAsync<PositionList>(HttpMethod.Get, path, null, null, cancellationToken).ConfigureAwait(false)).Items;
    }

    /// <summary>Runs one read-only SELECT (admin keys, or readers where the server allows) and returns its rows typed by column.</summary>
    /// <exception cref="TradeStoreProblemException">
    /// The server refused the query, or it failed after its answer had started (the answer then ends with
    /// <c>],"error":{problem}</c>, an unfinished JSON document).
    /// </exception>
    public async Task<QueryResult> QueryAsync(string sql, CancellationToken cancellationToken = default)
    {
        using var response = await SendRawAsync(HttpMethod.Post, "v1/query", Serialize(new QueryBody(sql)), null, "application/json", HttpCompletionOption.ResponseContentRead,
            cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException) when (StreamedProblem(body) is { } problem)
        {
            throw TradeStoreProblemException.For(problem);
        }

        using var parsed = document;
        var root = document.RootElement;
        var columns = root.GetProperty("columns").EnumerateArray()
            .Select(c => new QueryColumn(c.GetProperty("name").GetString()!, c.GetProperty("type").GetString()!)).ToList();
        var types = columns.Select(c => QueryValueTypes.Of(c.Type)).ToArray();
        var rows = new List<object?[]>(root.GetProperty("rows").GetArrayLength());
        foreach (var row in root.GetProperty("rows").EnumerateArray())
        {
            var values = new object?[columns.Count];
            var i = 0;
            foreach (var value in row.EnumerateArray())
            {
                values[i] = TradeStoreJson.QueryValue(value, types[i]);
                i++;
            }

            rows.Add(values);
        }

        return new QueryResult(columns, rows, root.GetProperty("truncated").GetBoolean());
    }

    /// <summary>
    /// Runs one SELECT and returns the answer body unread, in the format asked for (read an Arrow stream with
    /// <c>Apache.Arrow</c>'s <c>ArrowStreamReader</c>, Parquet with a Parquet reader). Dispose the stream.
    /// </summary>
    public async Task<Stream> QueryStreamAsync(string sql, QueryFormat format, CancellationToken cancellationToken = default)
    {
        var accept = format switch
        {
            QueryFormat.Arrow => "application/vnd.apache.arrow.stream",
            QueryFormat.Parquet => "application/vnd.apache.parquet",
            QueryFormat.Csv => "text/csv",
            _ => "application/json",
        };
        var response = await SendRawAsync(HttpMethod.Post, "v1/query", Serialize(new QueryBody(sql)), null, accept, HttpCompletionOption.ResponseHeadersRead,
            cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
    }

    private Task<T> CommandAsync<T>(HttpMethod method, string path, object? body, string? idempotencyKey, CancellationToken cancellationToken) =>
        SendAsync<T>(method, path, body, idempotencyKey ?? IdempotencyKeys.New(), cancellationToken);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, string? idempotencyKey, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(method, path, body is null ? null : Serialize(body), idempotencyKey, "application/json", HttpCompletionOption.ResponseContentRead,
            cancellationToken).ConfigureAwait(false);
        var result = await response.Content.ReadFromJsonAsync<T>(TradeStoreJson.Options, cancellationToken).ConfigureAwait(false);
        return result ?? throw new InvalidDataException($"TradeStore answered {method} {path} with an empty body.");
    }

    /// <summary>One request with retries and redirects; the answer is a success (2xx) or an exception.</summary>
    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, byte[]? body, string? idempotencyKey, string accept,
        HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        var target = new Uri(_options.BaseAddress!, path);
        var redirects = 0;
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, target);
            request.Headers.Accept.ParseAdd(accept);
            if (_options.ApiKey is { } key)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }

            if (idempotencyKey is not null)
            {
                request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
            }

            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = JsonContentType;
            }

            using var attemptTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attemptTimeout.CancelAfter(_options.Timeout);
            string reason;
            TimeSpan? retryAfter = null;
            try
            {
                var response = await _http.SendAsync(request, completion, attemptTimeout.Token).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                if (response.IsSuccessStatusCode)
                {
                    return response;
                }

                using (response)
                {
                    if (status is 307 or 308 && response.Headers.Location is { } location && redirects < MaxRedirects)
                    {
                        redirects++;
                        target = location.IsAbsoluteUri ? location : new Uri(target, location);
                        Log.Redirected(_logger, method.Method, path, target);
                        attempt--; // a redirect is not a failure
                        continue;
                    }

                    if (status is not (503 or 429) || attempt >= _options.MaxRetries)
                    {
                        throw await ProblemAsync(response, cancellationToken).ConfigureAwait(false);
                    }

                    reason = $"{status} {response.ReasonPhrase}";
                    retryAfter = RetryAfter(response);
                }
            }
            catch (Exception ex) when (Transient(ex, cancellationToken) && attempt < _options.MaxRetries)
            {
                reason = ex is OperationCanceledException ? $"no answer within {_options.Timeout}" : ex.Message;
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"TradeStore {method} {path}: no answer within {_options.Timeout} after {attempt + 1} attempt(s).", ex);
            }

            var delay = retryAfter ?? Backoff(attempt);
            delay = delay > _options.MaxRetryDelay ? _options.MaxRetryDelay : delay;
            Log.Retrying(_logger, method.Method, path, reason, attempt + 1, _options.MaxRetries, delay.TotalMilliseconds);
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A dropped or refused connection, or this attempt's own timeout (not the caller's cancellation).</summary>
    private static bool Transient(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        HttpRequestException => true,
        IOException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };

    private static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds(Math.Min(5_000, 100 * Math.Pow(2, attempt)) * (0.5 + Random.Shared.NextDouble() / 2));

    private static TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };

    private static async Task<TradeStoreProblemException> ProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        Problem? problem = null;
        try
        {
            problem = JsonSerializer.Deserialize<Problem>(text, TradeStoreJson.Options);
        }
        catch (JsonException)
        {
            // Not problem details (a proxy's page, say): described from the status below.
        }

        if (problem is null || problem.Type is null)
        {
            var status = (int)response.StatusCode;
            problem = new Problem("about:blank", response.ReasonPhrase ?? status.ToString(CultureInfo.InvariantCulture), status, text.Length > 500 ? text[..500] : text);
        }

        return TradeStoreProblemException.For(problem);
    }

    /// <summary>The problem at the end of a JSON query answer that failed after it had started: <c>…],"error":{problem}</c>.</summary>
    private static Problem? StreamedProblem(byte[] body)
    {
        var mark = body.AsSpan().LastIndexOf("],\"error\":{"u8);
        if (mark < 0)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<Problem>(body.AsSpan(mark + "],\"error\":".Length), TradeStoreJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static byte[] Serialize(object body) => JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), TradeStoreJson.Options);

    private string ListPath(TradeFilter filter, string? cursor)
    {
        var query = new StringBuilder("v1/trades?limit=").Append(_options.PageSize.ToString(CultureInfo.InvariantCulture));
        Append(query, "account", filter.Account);
        Append(query, "symbol", filter.Symbol);
        Append(query, "status", filter.Status);
        Append(query, "from", filter.From?.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
        Append(query, "to", filter.To?.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
        Append(query, "cursor", cursor);
        return query.ToString();

        static void Append(StringBuilder query, string name, string? value)
        {
            if (value is not null)
            {
                query.Append('&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
            }
        }
    }

    private static string Escape(string tradeId)
    {
        ArgumentException.ThrowIfNullOrEmpty(tradeId);
        return Uri.EscapeDataString(tradeId);
    }

    private sealed record FillBody(decimal Quantity, decimal Price, long? ExpectedVersion);

    private sealed record CancelBody(long? ExpectedVersion);

    private sealed record QueryBody(string Sql);

    private sealed record TradePage(IReadOnlyList<Trade> Items, string? NextCursor);

    private sealed record PositionList(IReadOnlyList<Position> Items);
}
