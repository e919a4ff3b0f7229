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
/// connections and timeouts with the same key, so a retry never writes twice. A 307/308 (a cluster's follower) is
/// followed to the leader with the method, body, API key and idempotency key; every retry starts again at
/// <see cref="TradeStoreClientOptions.BaseAddress"/>, so a call rides through a change of leader. A command whose outcome
/// is unknown throws <see cref="TradeStoreInDoubtException"/> (or a <see cref="TradeStoreProblemException"/> with
/// <see cref="TradeStoreProblemException.IsInDoubt"/>): send it again with the same key.
/// </summary>
/// <remarks>
/// Make it with <see cref="TradeStoreClient(TradeStoreClientOptions, ILogger{TradeStoreClient}?, TimeProvider?)"/>
/// without DI, or register it with <c>AddTradeStoreClient</c>: both send through a handler that leaves redirects to the
/// client. An <see cref="HttpClient"/> of your own should have a handler with <c>AllowAutoRedirect = false</c>: .NET's
/// own redirect drops the <c>Authorization</c> header, so the leader would answer 401. When such a handler followed a
/// redirect and the answer was 401, the client sends the request again to where the handler was sent, with the key
/// (a 401 applied nothing), and logs a warning (event 1502).
/// </remarks>
/// <example>
/// <code>
/// var client = new TradeStoreClient(new TradeStoreClientOptions { BaseAddress = new Uri("http://127.0.0.1:5080") });
/// var trade = await client.CreateTradeAsync(new NewTrade("T-1", "ACC-1", "AAPL", TradeSide.Buy, 100m, 189.25m));
/// await foreach (var t in client.TradesAsync(new TradeFilter(Account: "ACC-1"))) { Console.WriteLine(t.TradeId); }
/// </code>
/// </example>
public sealed class TradeStoreClient
{
    private const int MaxRedirects = 5;
    private const string ProblemTypePrefix = "urn:tradestore:problem:";
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json") { CharSet = "utf-8" };

    /// <summary>
    /// The <see cref="HttpClient"/> of every client made without one: one per process, as .NET advises outside
    /// <c>IHttpClientFactory</c> (pooled connections, renewed every 5 minutes so DNS changes are seen).
    /// </summary>
    private static readonly Lazy<HttpClient> SharedHttp = new(() => new HttpClient(NewHandler()) { Timeout = System.Threading.Timeout.InfiniteTimeSpan });

    private readonly HttpClient _http;
    private readonly TradeStoreClientOptions _options;
    private readonly Uri _baseAddress;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    /// <summary>
    /// A client without DI: it sends through one process-wide <see cref="HttpClient"/> whose handler leaves redirects to the
    /// client, so a 307/308 keeps the API key. Nothing to dispose.
    /// </summary>
    public TradeStoreClient(TradeStoreClientOptions options, ILogger<TradeStoreClient>? logger = null, TimeProvider? timeProvider = null)
        : this(SharedHttp.Value, options, logger, timeProvider)
    {
    }

    /// <summary>
    /// A client sending through <paramref name="http"/>. Give its handler <c>AllowAutoRedirect = false</c> (see
    /// <see cref="NewHandler"/>) and an infinite <see cref="HttpClient.Timeout"/> (each attempt has <see cref="TradeStoreClientOptions.Timeout"/>).
    /// </summary>
    public TradeStoreClient(HttpClient http, TradeStoreClientOptions options, ILogger<TradeStoreClient>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _http = http;
        _options = options;
        _baseAddress = WithTrailingSlash(options.BaseAddress!);
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

    /// <summary>
    /// Deletes a trade; the answer is its last state with status <c>deleted</c>. With <paramref name="expectedVersion"/> the
    /// delete applies only to that version (else <see cref="VersionConflictException"/>); without it, whatever the version.
    /// </summary>
    public Task<Trade> DeleteAsync(string tradeId, long? expectedVersion = null, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        var path = $"v1/trades/{Escape(tradeId)}";
        if (expectedVersion is { } version)
        {
            path += $"?expectedVersion={version.ToString(CultureInfo.InvariantCulture)}";
        }

        return CommandAsync<Trade>(HttpMethod.Delete, path, null, idempotencyKey, cancellationToken);
    }

    /// <summary>Sends the commands together (they share group commits, later ones see earlier ones); each fails alone in its result.</summary>
    /// <remarks>
    /// When the batch may have been applied (<see cref="TradeStoreInDoubtException"/>, or a
    /// <see cref="TradeStoreProblemException"/> with <see cref="TradeStoreProblemException.IsInDoubt"/>), the exception's
    /// <c>BatchCommands</c> are the commands as sent: send them again. Enumerating <paramref name="commands"/> again would
    /// make new commands with new keys if it is lazy (a <c>Select</c>), and apply them twice.
    /// </remarks>
    public async Task<BatchResult> BatchAsync(IEnumerable<BatchCommand> commands, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commands);
        // Each item carries its own idempotency key, so a retry of the whole batch replays the items already applied.
        var sent = commands.ToList();
        try
        {
            return await SendAsync<BatchResult>(HttpMethod.Post, "v1/trades/batch", sent, null, write: true, cancellationToken).ConfigureAwait(false);
        }
        catch (TradeStoreInDoubtException inDoubt)
        {
            inDoubt.BatchCommands = sent;
            throw;
        }
        catch (TradeStoreProblemException problem) when (problem.IsInDoubt)
        {
            problem.BatchCommands = sent;
            throw;
        }
    }

    /// <exception cref="NotFoundException">The trade is unknown or deleted.</exception>
    public Task<Trade> GetTradeAsync(string tradeId, CancellationToken cancellationToken = default) =>
        GetTradeAsync(tradeId, null, cancellationToken);

    /// <summary>
    /// The trade as the node asked holds it once that node holds journal seq <paramref name="minSeq"/> (read your writes
    /// on a follower: pass the <see cref="Trade.LastSeq"/> of the write's answer). A node that does not reach it within the
    /// server's <c>Cluster:ReadWaitTimeout</c> answers <c>503 seq-not-reached</c>, which is retried like any 503.
    /// </summary>
    /// <exception cref="NotFoundException">The trade is unknown or deleted.</exception>
    public Task<Trade> GetTradeAsync(string tradeId, long? minSeq, CancellationToken cancellationToken = default) =>
        SendAsync<Trade>(HttpMethod.Get, WithMinSeq($"v1/trades/{Escape(tradeId)}", minSeq), null, null, write: false, cancellationToken);

    /// <summary>Every event of the trade, oldest first, following the cursor across pages (<see cref="HistoryEventsAsync(string, CancellationToken)"/> yields them a page at a time).</summary>
    /// <exception cref="NotFoundException">The trade is unknown (a deleted trade's history stays readable).</exception>
    public Task<TradeHistory> HistoryAsync(string tradeId, CancellationToken cancellationToken = default) =>
        HistoryAsync(tradeId, null, cancellationToken);

    /// <summary>The trade's history once the node asked holds journal seq <paramref name="minSeq"/> (see <see cref="GetTradeAsync(string, long?, CancellationToken)"/>).</summary>
    public async Task<TradeHistory> HistoryAsync(string tradeId, long? minSeq, CancellationToken cancellationToken = default)
    {
        var items = new List<TradeEvent>();
        await foreach (var item in HistoryEventsAsync(tradeId, minSeq, cancellationToken).ConfigureAwait(false))
        {
            items.Add(item);
        }

        return new TradeHistory(tradeId, items);
    }

    /// <summary>
    /// Every event of the trade, oldest first, a page at a time: a trade amended or filled thousands of times is never
    /// held whole. The first page is the server's (<c>Api:DefaultPageSize</c> events), the next ones
    /// <see cref="TradeStoreClientOptions.PageSize"/> each. Events written while the pages are read are in the later
    /// pages, none repeated or skipped.
    /// </summary>
    /// <exception cref="NotFoundException">The trade is unknown.</exception>
    public IAsyncEnumerable<TradeEvent> HistoryEventsAsync(string tradeId, CancellationToken cancellationToken = default) =>
        HistoryEventsAsync(tradeId, null, cancellationToken);

    /// <summary>The trade's events, each page read once the node asked holds journal seq <paramref name="minSeq"/> (see <see cref="GetTradeAsync(string, long?, CancellationToken)"/>).</summary>
    public async IAsyncEnumerable<TradeEvent> HistoryEventsAsync(string tradeId, long? minSeq, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // The first page without limit: a server from before history was paged (2026-12-05) refuses any parameter there
        // but minSeq, and answers every event at once without a nextCursor.
        var path = $"v1/trades/{Escape(tradeId)}/history";
        string? cursor = null;
        do
        {
            var page = await PageAsync<HistoryPage>(
                WithMinSeq(cursor is null ? path : $"{path}?limit={_options.PageSize.ToString(CultureInfo.InvariantCulture)}&cursor={Uri.EscapeDataString(cursor)}", minSeq),
                cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                yield return item;
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }

    /// <summary>Every trade that matches, in <c>executedAt</c>, <c>tradeId</c> order, following the cursor across pages (none repeated or skipped).</summary>
    public IAsyncEnumerable<Trade> TradesAsync(TradeFilter? filter = null, CancellationToken cancellationToken = default) =>
        TradesAsync(filter, null, cancellationToken);

    /// <summary>
    /// Every trade that matches, each page read once the node asked holds journal seq <paramref name="minSeq"/> (see
    /// <see cref="GetTradeAsync(string, long?, CancellationToken)"/>).
    /// </summary>
    public async IAsyncEnumerable<Trade> TradesAsync(TradeFilter? filter, long? minSeq, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        filter ??= new TradeFilter();
        string? cursor = null;
        do
        {
            var page = await PageAsync<TradePage>(WithMinSeq(ListPath(filter, cursor), minSeq), cancellationToken).ConfigureAwait(false);
            foreach (var trade in page.Items)
            {
                yield return trade;
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }

    /// <summary>
    /// One page of a list, a history or positions. The server's 400 on <c>limit</c> (above its <c>Api:MaxPageSize</c>) is restated for
    /// the option the caller set, <see cref="TradeStoreClientOptions.PageSize"/>: the client sends <c>limit</c> itself.
    /// </summary>
    private async Task<T> PageAsync<T>(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await SendAsync<T>(HttpMethod.Get, path, null, null, write: false, cancellationToken).ConfigureAwait(false);
        }
        catch (TradeStoreProblemException problem) when (problem is { Status: 400, Field: "limit" })
        {
            throw new TradeStoreProblemException(
                problem.Problem with
                {
                    Detail = $"PageSize {_options.PageSize} is more than this server allows (it said: {problem.Detail}). Set TradeStoreClientOptions.PageSize lower.",
                    Field = nameof(TradeStoreClientOptions.PageSize),
                },
                problem);
        }
    }

    /// <summary>
    /// Positions of one account, or of every account the key may see, by account then symbol, following the cursor across
    /// pages: the server's first page (<c>Api:DefaultPageSize</c> positions), then <see cref="TradeStoreClientOptions.PageSize"/>
    /// each. Each page is exact at its own seq; with writes between pages none is repeated or skipped, but the pages together
    /// are no one state (docs/api.md, "Positions").
    /// </summary>
    public Task<IReadOnlyList<Position>> PositionsAsync(string? account = null, CancellationToken cancellationToken = default) =>
        PositionsAsync(account, null, cancellationToken);

    /// <summary>Positions, each page read once the node asked holds journal seq <paramref name="minSeq"/> (see <see cref="GetTradeAsync(string, long?, CancellationToken)"/>).</summary>
    public async Task<IReadOnlyList<Position>> PositionsAsync(string? account, long? minSeq, CancellationToken cancellationToken = default)
    {
        // The first page without limit: a server from before positions were paged (2026-12-05) refuses any parameter
        // there but account and minSeq, and answers every position at once without a nextCursor.
        var filter = account is null ? [] : new[] { $"account={Uri.EscapeDataString(account)}" };
        var positions = new List<Position>();
        string? cursor = null;
        do
        {
            string[] query = cursor is null ? filter : [.. filter, $"limit={_options.PageSize.ToString(CultureInfo.InvariantCulture)}", $"cursor={Uri.EscapeDataString(cursor)}"];
            var page = await PageAsync<PositionPage>(
                WithMinSeq(query.Length == 0 ? "v1/positions" : $"v1/positions?{string.Join('&', query)}", minSeq), cancellationToken).ConfigureAwait(false);
            positions.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return positions;
    }

    /// <summary>Runs one read-only SELECT (admin keys, or readers where the server allows) and returns its rows typed by column.</summary>
    /// <exception cref="TradeStoreProblemException">
    /// The server refused the query, or it failed after its answer had started (the answer then ends with
    /// <c>],"error":{problem}</c>, an unfinished JSON document).
    /// </exception>
    public Task<QueryResult> QueryAsync(string sql, CancellationToken cancellationToken = default) =>
        QueryAsync(sql, null, cancellationToken);

    /// <summary>
    /// Runs one read-only SELECT once the node's DuckDB holds journal seq <paramref name="minSeq"/> (read your writes in
    /// SQL on any node: pass the <see cref="Trade.LastSeq"/> of the write's answer). A node that does not get there within
    /// the server's <c>Cluster:ReadWaitTimeout</c> answers <c>503 seq-not-reached</c>, which is retried like any 503.
    /// </summary>
    /// <exception cref="TradeStoreProblemException">
    /// The server refused the query, or it failed after its answer had started (the answer then ends with
    /// <c>],"error":{problem}</c>, an unfinished JSON document).
    /// </exception>
    public async Task<QueryResult> QueryAsync(string sql, long? minSeq, CancellationToken cancellationToken = default)
    {
        using var response = await SendRawAsync(HttpMethod.Post, WithMinSeq("v1/query", minSeq), Serialize(new QueryBody(sql)), null, write: false, "application/json",
            HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
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

        return new QueryResult(columns, rows, root.GetProperty("truncated").GetBoolean()) { AppliedSeq = AppliedSeqOf(response) };
    }

    /// <summary>
    /// Runs one SELECT and returns the answer body unread, in the format asked for (read an Arrow stream with
    /// <c>Apache.Arrow</c>'s <c>ArrowStreamReader</c>, Parquet with a Parquet reader), with its
    /// <see cref="QueryStream.AppliedSeq"/>. Dispose the stream.
    /// </summary>
    public Task<QueryStream> QueryStreamAsync(string sql, QueryFormat format, CancellationToken cancellationToken = default) =>
        QueryStreamAsync(sql, format, null, cancellationToken);

    /// <summary>
    /// <see cref="QueryStreamAsync(string, QueryFormat, CancellationToken)"/> once the node's DuckDB holds journal seq
    /// <paramref name="minSeq"/> (see <see cref="QueryAsync(string, long?, CancellationToken)"/>).
    /// </summary>
    public async Task<QueryStream> QueryStreamAsync(string sql, QueryFormat format, long? minSeq, CancellationToken cancellationToken = default)
    {
        var accept = format switch
        {
            QueryFormat.Arrow => "application/vnd.apache.arrow.stream",
            QueryFormat.Parquet => "application/vnd.apache.parquet",
            QueryFormat.Csv => "text/csv",
            _ => "application/json",
        };
        var response = await SendRawAsync(HttpMethod.Post, WithMinSeq("v1/query", minSeq), Serialize(new QueryBody(sql)), null, write: false, accept, HttpCompletionOption.ResponseHeadersRead,
            cancellationToken).ConfigureAwait(false);
        return new QueryStream(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), AppliedSeqOf(response));
    }

    /// <summary>A query answer's <c>TradeStore-Applied-Seq</c>; <see langword="null"/> from a server that does not send it.</summary>
    private static long? AppliedSeqOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues("TradeStore-Applied-Seq", out var values)
        && long.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            ? seq
            : null;

    private Task<T> CommandAsync<T>(HttpMethod method, string path, object? body, string? idempotencyKey, CancellationToken cancellationToken) =>
        SendAsync<T>(method, path, body, idempotencyKey is null ? IdempotencyKeys.New() : IdempotencyKeys.Checked(idempotencyKey), write: true, cancellationToken);

    /// <param name="write">A command or batch: an attempt that may have reached the server makes its outcome unknown until a definite answer.</param>
    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, string? idempotencyKey, bool write, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(method, path, body is null ? null : Serialize(body), idempotencyKey, write, "application/json",
            HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        T? result;
        try
        {
            result = await response.Content.ReadFromJsonAsync<T>(TradeStoreJson.Options, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            throw await NotTradeStoreAnswerAsync(response, method, path, write, ex, cancellationToken).ConfigureAwait(false);
        }

        return result ?? throw new InvalidDataException($"TradeStore answered {method} {path} with an empty body.");
    }

    /// <summary>
    /// A 2xx answer whose body is not JSON (a proxy's sign-in page answered in TradeStore's place): a problem that says so
    /// and where, in doubt for a write (it may have reached TradeStore), rather than a bare <see cref="JsonException"/>.
    /// </summary>
    private static async Task<TradeStoreProblemException> NotTradeStoreAnswerAsync(HttpResponseMessage response, HttpMethod method, string path, bool write,
        JsonException error, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        var contentType = response.Content.Headers.ContentType?.ToString() ?? "no Content-Type";
        var detail = $"{method} {path}: the {status} answer is not JSON ({contentType}; {error.Message}); it starts '{(text.Length > 200 ? text[..200] : text)}'. " +
            "Something other than TradeStore answered: a proxy or another service at the URL?";
        return new TradeStoreProblemException(new Problem("about:blank", "Not a TradeStore answer", status, detail), error) { AnswerReplaced = write };
    }

    /// <summary>
    /// One request with retries and redirects; the answer is a success (2xx) or an exception. A redirect is followed
    /// within the attempt, but every retry starts again at the configured address: after a failover the leader a 307
    /// named may be dead, and the configured node (any node of the cluster, or a load balancer) redirects to whoever
    /// leads now. For a <paramref name="write"/> the client remembers whether an attempt may have reached the server
    /// (its connection broke after the request was sent, it timed out, or it was answered with an in-doubt problem):
    /// then a last failure that alone would mean "not applied" (a refused connection, <c>503 no-leader</c>) is reported
    /// as in doubt instead, since the write may be in the journal all the same.
    /// </summary>
    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, byte[]? body, string? idempotencyKey, bool write, string accept,
        HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        var configured = new Uri(_baseAddress, path);
        var target = configured;
        var redirects = 0;
        string? inDoubt = null; // what became of the first attempt of a write that may have been applied
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, target);
            request.Headers.Accept.ParseAdd(accept);
            if (_options.ApiKey is { Length: > 0 } key)
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
                    if (status == 401 && _options.ApiKey is { Length: > 0 } && response.RequestMessage?.RequestUri is { } followed && followed != target
                        && redirects < MaxRedirects)
                    {
                        // The given HttpClient's handler followed a redirect itself and, as .NET's handlers do, left the
                        // Authorization header behind; the 401 applied nothing, so send it again there with the key.
                        redirects++;
                        target = followed;
                        Log.HandlerDroppedApiKey(_logger, method.Method, path, target);
                        attempt--;
                        continue;
                    }

                    if (status is 307 or 308 && response.Headers.Location is { } location && redirects < MaxRedirects)
                    {
                        redirects++;
                        target = location.IsAbsoluteUri ? location : new Uri(target, location);
                        Log.Redirected(_logger, method.Method, path, target);
                        attempt--; // a redirect is not a failure
                        continue;
                    }

                    var redirectedTooOften = status is 307 or 308 && response.Headers.Location is not null;
                    var problem = redirectedTooOften
                        ? TooManyRedirects(method, path, status, target, response.Headers.Location!)
                        : await ProblemAsync(response, cancellationToken).ConfigureAwait(false);
                    if (status is not (503 or 429) || attempt >= _options.MaxRetries)
                    {
                        // A 503 or 429 speaks only for its own attempt (it came before the command ran), as does a redirect
                        // that never reached a node that answers; any other answer to a retry with the same key is
                        // definite (a write that was applied is answered as a replay).
                        if (write && inDoubt is not null && (status is (503 or 429) || redirectedTooOften))
                        {
                            problem.EarlierAttemptInDoubt = inDoubt;
                        }

                        throw problem;
                    }

                    reason = Describe(problem.Problem);
                    if (write && problem.Problem.IsInDoubt)
                    {
                        reason += ": the write may have been applied";
                        inDoubt ??= reason;
                    }

                    retryAfter = RetryAfter(response);
                }
            }
            catch (Exception ex) when (Transient(ex, cancellationToken))
            {
                reason = Describe(ex);
                if (write && MayHaveReachedServer(ex))
                {
                    reason += ", after the request was sent: the write may have been applied";
                    inDoubt ??= reason;
                }

                if (attempt >= _options.MaxRetries)
                {
                    if (write && inDoubt is not null)
                    {
                        throw new TradeStoreInDoubtException(InDoubtMessage(method, path, idempotencyKey, attempt + 1, inDoubt, reason), idempotencyKey, ex);
                    }

                    if (ex is OperationCanceledException)
                    {
                        throw new TimeoutException($"TradeStore {method} {path}: no answer within {_options.Timeout} after {attempt + 1} attempt(s).", ex);
                    }

                    throw;
                }
            }
            catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested && ex.CancellationToken != cancellationToken)
            {
                // The caller cancelled while an attempt was in flight: HttpClient names the attempt's own linked token, which
                // the caller cannot recognise, so "catch (OperationCanceledException e) when (e.CancellationToken == ct)"
                // took its own cancellation for something else. Name the caller's token.
                throw new TaskCanceledException(ex.Message, ex, cancellationToken);
            }

            var delay = retryAfter ?? Backoff(attempt);
            delay = delay > _options.MaxRetryDelay ? _options.MaxRetryDelay : delay;
            Log.Retrying(_logger, method.Method, path, reason, attempt + 1, _options.MaxRetries, configured, delay.TotalMilliseconds);
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            target = configured;
            redirects = 0;
        }
    }

    /// <summary>
    /// The handler a client's <see cref="HttpClient"/> should have: redirects left to the client (a handler that follows
    /// them itself drops the API key), pooled connections renewed every 5 minutes. <c>AddTradeStoreClient</c> and the
    /// options-only constructor use it.
    /// </summary>
    public static SocketsHttpHandler NewHandler() => new() { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };

    /// <summary>
    /// The base address ending in <c>/</c>, so relative paths go under it: <c>http://proxy/tradestore</c> asks for
    /// <c>http://proxy/tradestore/v1/trades</c> (resolving against it without the slash would replace its last segment).
    /// </summary>
    private static Uri WithTrailingSlash(Uri address) =>
        address.AbsolutePath.EndsWith('/') ? address : new Uri(address.GetLeftPart(UriPartial.Path) + "/");

    /// <summary>A dropped or refused connection, or this attempt's own timeout (not the caller's cancellation).</summary>
    private static bool Transient(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        HttpRequestException => true,
        IOException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };

    /// <summary>
    /// Whether a failed attempt may have reached the server: every failure but one that happened before the request
    /// could be sent (the connection was refused or could not be made, the name did not resolve, TLS failed). A reset,
    /// an answer that ended early and a timeout all leave the request possibly delivered and applied.
    /// </summary>
    private static bool MayHaveReachedServer(Exception ex) => ex is not HttpRequestException
    {
        HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError,
    };

    /// <summary>
    /// 250 ms, 500 ms, 1 s, then 2 s per retry, each with jitter (× 0.5–1): the default 8 retries wait 5.9–11.75 s in all,
    /// longer than a leader failover (p99 3.7 s at the default lease, docs/high-availability.md) with room for a loaded
    /// machine, and a caller waits at most 2 s after the new leader is there.
    /// </summary>
    private static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds(Math.Min(2_000, 250 * Math.Pow(2, attempt)) * (0.5 + Random.Shared.NextDouble() / 2));

    /// <summary>What went wrong with an attempt, for the retry log and the in-doubt message: the problem type's last part.</summary>
    private static string Describe(Problem problem) =>
        problem.Type.StartsWith(ProblemTypePrefix, StringComparison.Ordinal)
            ? $"{problem.Status} {problem.Type[ProblemTypePrefix.Length..]}"
            : $"{problem.Status} {problem.Title}";

    /// <summary>A transport failure with its causes (".NET's "An error occurred while sending the request." says nothing alone).</summary>
    private string Describe(Exception ex)
    {
        if (ex is OperationCanceledException)
        {
            return $"no answer within {_options.Timeout}";
        }

        var text = new StringBuilder(ex.Message.TrimEnd('.'));
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            var message = inner.Message.TrimEnd('.');
            if (!text.ToString().Contains(message, StringComparison.Ordinal))
            {
                text.Append(": ").Append(message);
            }
        }

        if (ex is HttpRequestException { HttpRequestError: var error and not HttpRequestError.Unknown } && !text.ToString().Contains(error.ToString(), StringComparison.Ordinal))
        {
            text.Append(" (").Append(error).Append(')');
        }

        return text.ToString();
    }

    /// <summary>What failed, each reason said once: the attempt that left the write in doubt, and the last one when it failed otherwise.</summary>
    private static string InDoubtMessage(HttpMethod method, string path, string? idempotencyKey, int attempts, string inDoubt, string last) =>
        $"TradeStore {method} {path}: the command may have been applied. " +
        (string.Equals(inDoubt, last, StringComparison.Ordinal)
            ? $"The last of {attempts} attempt(s) failed with {last}. "
            : $"An attempt failed with {inDoubt}; the last of {attempts} attempt(s) failed with {last}. ") +
        (idempotencyKey is null
            ? "Send this exception's BatchCommands again (the commands as sent, each with its idempotency key; a lazy Select of new commands would make new keys): items already applied are replayed."
            : $"Send it again with the same idempotency key ({idempotencyKey}): if it was applied, the service answers the original result and writes nothing.");

    /// <summary>
    /// The 307/308 that ended a chain of redirects longer than <see cref="MaxRedirects"/>: it was thrown as a bare
    /// "307 Temporary Redirect: " problem that said neither that the redirects went round nor where.
    /// </summary>
    private static TradeStoreProblemException TooManyRedirects(HttpMethod method, string path, int status, Uri from, Uri location) =>
        new(new Problem("about:blank", "Too many redirects", status,
            $"{method} {path}: still redirected after {MaxRedirects} redirects, the last to {(location.IsAbsoluteUri ? location : new Uri(from, location))}: " +
            "nothing was applied by this attempt. Nodes that each name another as the leader (a cluster whose configuration or etcd prefix " +
            "differs between nodes?) or a proxy that redirects in a loop."));

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

    /// <summary>The path with <c>minSeq</c> added to its query when given.</summary>
    private static string WithMinSeq(string path, long? minSeq) =>
        minSeq is { } seq ? $"{path}{(path.Contains('?', StringComparison.Ordinal) ? '&' : '?')}minSeq={seq.ToString(CultureInfo.InvariantCulture)}" : path;

    private static byte[] Serialize(object body) => JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), TradeStoreJson.Options);

    private string ListPath(TradeFilter filter, string? cursor)
    {
        var query = new StringBuilder("v1/trades?limit=").Append(_options.PageSize.ToString(CultureInfo.InvariantCulture));
        Append(query, "account", filter.Account);
        Append(query, "symbol", filter.Symbol);
        Append(query, "status", filter.Status);
        Append(query, "from", Bound(filter.From));
        Append(query, "to", Bound(filter.To));
        Append(query, "cursor", cursor);
        return query.ToString();

        static void Append(StringBuilder query, string name, string? value)
        {
            if (value is not null)
            {
                query.Append('&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
            }
        }

        // Every tick (7 decimals): the server rounds a bound finer than its stored microseconds up, which keeps `from`
        // inclusive and `to` exclusive; cut to 6 decimals here, To = t + 100 ns left out a trade stored at t.
        static string? Bound(DateTimeOffset? time) =>
            time?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The trade id as a path segment. <c>.</c> and <c>..</c> are refused before anything is sent: a URL resolves such a
    /// segment away (<c>v1/trades/.</c> is the list, <c>v1/trades/../amend</c> is <c>v1/amend</c>), so the request would
    /// reach another endpoint (a read of <c>.</c> would read the list as a trade), and the server never accepts them as ids.
    /// A NUL is refused too: the server's HTTP layer answers a bare 400 to it in a path.
    /// </summary>
    private static string Escape(string tradeId)
    {
        ArgumentException.ThrowIfNullOrEmpty(tradeId);
        if (tradeId is "." or "..")
        {
            throw new ArgumentException(
                $"tradeId: '{tradeId}' cannot be named in a URL path (a dot segment, which URLs resolve away, so the request would reach another endpoint); the server refuses it as a trade id.",
                nameof(tradeId));
        }

        if (tradeId.Contains('\0', StringComparison.Ordinal))
        {
            // The server's HTTP layer refuses %00 in a path before TradeStore reads it: a bare 400 without detail.
            throw new ArgumentException($"tradeId: holds a NUL character at index {tradeId.IndexOf('\0', StringComparison.Ordinal)}, which no trade id can hold.",
                nameof(tradeId));
        }

        return Uri.EscapeDataString(tradeId);
    }

    private sealed record FillBody(decimal Quantity, decimal Price, long? ExpectedVersion);

    private sealed record CancelBody(long? ExpectedVersion);

    private sealed record QueryBody(string Sql);

    private sealed record TradePage(IReadOnlyList<Trade> Items, string? NextCursor);

    private sealed record HistoryPage(IReadOnlyList<TradeEvent> Items, string? NextCursor);

    private sealed record PositionPage(IReadOnlyList<Position> Items, string? NextCursor);
}
