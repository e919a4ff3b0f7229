using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;
using TradeStore.Core.Options;

namespace TradeStore.ClickHouse;

/// <summary>
/// ClickHouse over its HTTP interface. By design not the official ClickHouse.Driver: that driver sends
/// settings and the RowBinaryWithNamesAndTypes format that the Debian ClickHouse 18.16 lacks
/// (DESIGN.md §5), so TradeStore keeps to plain SQL over HTTP that 18.16 and current releases both accept.
/// </summary>
public sealed class ClickHouseClient
{
    /// <summary>Name of the <see cref="IHttpClientFactory"/> client.</summary>
    public const string HttpClientName = "clickhouse";

    private readonly IHttpClientFactory _httpClientFactory;
    private readonly ClickHouseOptions _options;

    public ClickHouseClient(IHttpClientFactory httpClientFactory, IOptions<ClickHouseOptions> options)
    {
        _httpClientFactory = httpClientFactory;
        _options = options.Value;
        if (!_options.Enabled)
        {
            throw new InvalidOperationException("ClickHouse is not configured (ClickHouse:Url is unset).");
        }
    }

    /// <summary>The server address, without credentials.</summary>
    public Uri BaseUri => _options.BaseUri;

    /// <summary>Runs a statement that returns nothing (DDL, INSERT … VALUES).</summary>
    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken, string? database = null)
    {
        using var response = await SendAsync(sql, body: null, database, cancellationToken);
    }

    /// <summary>Runs a query and returns the response body as text (use a <c>FORMAT</c> clause to choose its shape).</summary>
    public async Task<string> QueryAsync(string sql, CancellationToken cancellationToken, string? database = null)
    {
        using var response = await SendAsync(sql, body: null, database, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    /// <summary>Sends <paramref name="sql"/> (an <c>INSERT … FORMAT x</c>) with <paramref name="body"/> as its data, as one request: one atomic insert.</summary>
    public async Task InsertAsync(string sql, HttpContent body, CancellationToken cancellationToken, string? database = null)
    {
        using var response = await SendAsync(sql, body, database, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendAsync(string sql, HttpContent? body, string? database, CancellationToken cancellationToken)
    {
        var query = new StringBuilder("?");
        if (database is not null)
        {
            query.Append("database=").Append(Uri.EscapeDataString(database)).Append('&');
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

        if (_options.User is not null || _options.Password is not null)
        {
            var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_options.User ?? "default"}:{_options.Password}"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", credentials);
        }

        using (request)
        {
            var client = _httpClientFactory.CreateClient(HttpClientName);
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
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
