using System.Net;
using System.Net.Http.Json;
using TradeStore.Server.Tests.Changes;

namespace TradeStore.Server.Tests;

/// <summary>
/// A trade or a page is answered with its <c>Content-Length</c>, over real Kestrel: chunked, the closing chunk left in a
/// second send that the client waited for.
/// </summary>
public sealed class ResponseFramingTests
{
    [Fact]
    public async Task CreateReadAndList_AnsweredWithContentLength_NotChunked()
    {
        await using var host = await KestrelHost.StartAsync();
        using var http = host.Client();
        var ct = TestContext.Current.CancellationToken;

        using var created = await http.PostAsJsonAsync("/v1/trades", new { tradeId = "F-1", account = "ACC-1", symbol = "AAPL", side = "buy", quantity = "10", price = "101.25" }, ct);
        using var read = await http.GetAsync("/v1/trades/F-1", ct);
        using var page = await http.GetAsync("/v1/trades?account=ACC-1", ct);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        foreach (var response in new[] { created, read, page })
        {
            var body = await response.Content.ReadAsByteArrayAsync(ct);
            Assert.NotEqual(true, response.Headers.TransferEncodingChunked);
            Assert.Equal(body.Length, response.Content.Headers.ContentLength);
            Assert.Contains("\"tradeId\":\"F-1\"", System.Text.Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        }
    }

    /// <summary>HEAD on every read answers as GET would (status, type, length), without the body, over real Kestrel.</summary>
    [Fact]
    public async Task Reads_Head_AnswerLikeGetWithoutABody()
    {
        await using var host = await KestrelHost.StartAsync();
        using var http = host.Client();
        var ct = TestContext.Current.CancellationToken;
        using var created = await http.PostAsJsonAsync("/v1/trades", new { tradeId = "H-1", account = "ACC-1", symbol = "AAPL", side = "buy", quantity = "10", price = "101.25" }, ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        foreach (var path in new[] { "/v1/trades/H-1", "/v1/trades/H-1/history", "/v1/trades?account=ACC-1", "/v1/positions", "/v1/trades/NOPE", "/health/live", "/health/ready" })
        {
            using var get = await http.GetAsync(path, ct);
            using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, path), ct);

            Assert.True(get.StatusCode == head.StatusCode, $"HEAD {path}: {(int)head.StatusCode}, GET {(int)get.StatusCode}");
            Assert.Equal(get.Content.Headers.ContentType?.MediaType, head.Content.Headers.ContentType?.MediaType);
            Assert.Empty(await head.Content.ReadAsByteArrayAsync(ct));
        }
    }
}
