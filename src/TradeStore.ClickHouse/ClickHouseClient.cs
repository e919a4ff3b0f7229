using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TradeStore.Core.Options;
using TradeStore.Core.Threading;

namespace TradeStore.ClickHouse;

/// <summary>
/// ClickHouse over its HTTP interface. By design not the official ClickHouse.Driver: that driver sends
/// settings and the RowBinaryWithNamesAndTypes format that the Debian ClickHouse 18.16 lacks
/// (docs/architecture.md), so TradeStore keeps to plain SQL over HTTP that 18.16 and current releases both accept.
/// </summary>
public sealed class ClickHouseClient
{
    /// <summary>Name of the <see cref="IHttpClientFactory"/> client.</summary>
    public const string HttpClientName = "clickhouse";

    private readonly IHttpClientFactory _httpClientFactory;
    private readonly ClickHouseOptions _options;
    private readonly AuthenticationHeaderValue? _authorization;

    public ClickHouseClient(IHttpClientFactory httpClientFactory, IOptions<ClickHouseOptions> options)
    {
        _httpClientFactory = httpClientFactory;
        _options = options.Value;
        if (!_options.Enabled)
        {
            throw new InvalidOperationException("ClickHouse is not configured (ClickHouse:Url is unset).");
        }

        _authorization = Authorization(_options);
    }

    /// <summary>
    /// HTTP basic credentials: <c>ClickHouse:User</c> and <c>ClickHouse:Password</c>, or else the user info of
    /// <c>ClickHouse:Url</c> (<c>http://user:password@host:8123/</c>), which <see cref="HttpClient"/> never sends by
    /// itself: such a URL used to run as ClickHouse's <c>default</c> user without a word. <see langword="null"/>: none.
    /// </summary>
    private static AuthenticationHeaderValue? Authorization(ClickHouseOptions options)
    {
        var (user, password) = (options.User, options.Password);
        if (user is null && password is null && options.BaseUri.UserInfo is { Length: > 0 } userInfo)
        {
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            user = Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[..colon]);
            password = colon < 0 ? null : Uri.UnescapeDataString(userInfo[(colon + 1)..]);
        }

        return user is null && password is null
            ? null
            : new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user ?? "default"}:{password}")));
    }

    /// <summary>The server address, without credentials.</summary>
    public Uri BaseUri => _options.BaseUri;

    /// <summary><see cref="BaseUri"/> for messages and answers: user info (a password in the URL) replaced by <c>***</c>.</summary>
    public string DisplayUrl => Core.Security.UrlRedaction.Redact(BaseUri);

    /// <summary>The configured database of the TradeStore tables.</summary>
    public string Database => _options.Database;

    /// <summary>
    /// A client outside a host (tests, the bench), built the one way every client is built:
    /// <see cref="ClickHouseServiceCollectionExtensions.AddTradeStoreClickHouse"/> over its own small container.
    /// </summary>
    public static ClickHouseClient Create(ClickHouseOptions options) =>
        new ServiceCollection()
            .AddSingleton(Options.Create(options))
            .AddTradeStoreClickHouse()
            .BuildServiceProvider()
            .GetRequiredService<ClickHouseClient>();

    /// <summary>
    /// The HTTP handler for ClickHouse. By design idle connections are dropped after 2 s: ClickHouse closes
    /// keep-alive connections after 3 s, and a request sent on a connection the server is closing fails.
    /// </summary>
    public static HttpMessageHandler CreateHandler() => new SocketsHttpHandler
    {
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(2),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>Runs a statement that returns nothing (DDL, INSERT … VALUES).</summary>
    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken, string? database = null)
    {
        using var response = await SendAsync(sql, body: null, database, queryId: null, cancellationToken);
    }

    /// <summary>Runs a query and returns the response body as text (use a <c>FORMAT</c> clause to choose its shape).</summary>
    public async Task<string> QueryAsync(string sql, CancellationToken cancellationToken, string? database = null)
    {
        using var response = await SendAsync(sql, body: null, database, queryId: null, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="sql"/> with <c>FORMAT JSONEachRow</c> appended and returns one element per row.
    /// Note that ClickHouse quotes 64-bit integers in this format (read them with <see cref="Rows.ClickHouseJson"/>).
    /// </summary>
    public async Task<List<JsonElement>> QueryRowsAsync(string sql, CancellationToken cancellationToken, string? database = null)
    {
        using var response = await SendAsync(sql + "\nFORMAT JSONEachRow", body: null, database, queryId: null, cancellationToken);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var rows = new List<JsonElement>();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                using var document = JsonDocument.Parse(line);
                rows.Add(document.RootElement.Clone());
            }
            catch (JsonException)
            {
                // ClickHouse reports an error that occurs after the first rows were streamed inside the 200 body.
                throw new ClickHouseException(response.StatusCode, line.Trim());
            }
        }

        return rows;
    }

    /// <summary>
    /// Sends <paramref name="sql"/> (an <c>INSERT … FORMAT x</c>) with <paramref name="body"/> as its data, as one request: one atomic insert.
    /// <paramref name="queryId"/> names the query in <c>system.processes</c>, so a caller can tell whether it still runs.
    /// </summary>
    public async Task InsertAsync(string sql, HttpContent body, CancellationToken cancellationToken, string? database = null, string? queryId = null)
    {
        using var response = await SendAsync(sql, body, database, queryId, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendAsync(string sql, HttpContent? body, string? database, string? queryId, CancellationToken cancellationToken)
    {
        var query = new StringBuilder("?");
        if (database is not null)
        {
            query.Append("database=").Append(Uri.EscapeDataString(database)).Append('&');
        }

        if (queryId is not null)
        {
            query.Append("query_id=").Append(Uri.EscapeDataString(queryId)).Append('&');
        }

        HttpRequestMessage request;
        if (body is null)
        {
            // The statement goes in the body: URLs have length limits and a POST is never cached or retried by proxies.
            request = new HttpRequestMessage(HttpMethod.Post, new Uri(BaseUri, query.ToString().TrimEnd('&', '?')))
            {
                Content = new StringContent(sql, Encoding.UTF8, "text/plain"),
            };
        }
        else
        {
            query.Append("query=").Append(Uri.EscapeDataString(sql));
            request = new HttpRequestMessage(HttpMethod.Post, new Uri(BaseUri, query.ToString())) { Content = body };
        }

        request.Headers.Authorization = _authorization;

        using (request)
        {
            var client = _httpClientFactory.CreateClient(HttpClientName);
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            }
            catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"ClickHouse at {DisplayUrl} did not answer within {client.Timeout.TotalSeconds:0.###} s (ClickHouse:Timeout).", ex);
            }
            finally
            {
                // The answer may complete on a socket event thread; callers go on to read DuckDB and build large batches.
                await SocketEventThreads.LeaveAsync();
            }

            if (!response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                response.Dispose();
                throw new ClickHouseException(response.StatusCode, text.Trim());
            }

            return response;
        }
    }

}
