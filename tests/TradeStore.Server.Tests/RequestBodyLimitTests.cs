using System.Net;
using System.Text;
using TradeStore.Server.Tests.Changes;

namespace TradeStore.Server.Tests;

/// <summary><c>Api:MaxRequestBodyBytes</c> at the limit and one past it, over real Kestrel (its HTTP/1.1 chunked framing).</summary>
public sealed class RequestBodyLimitTests
{
    private const int Limit = 2048;

    /// <summary>
    /// Kestrel counts a chunked body's framing (each chunk's size line and CRLFs) against its own request-size limit, which
    /// was set to the limit + 1: a body of 2,048 bytes in 64-byte chunks (32 chunks, 6 bytes of framing each) was refused
    /// as over the 2,048-byte limit, and at the default 4 MiB one sent in 64 KiB chunks was refused from 4,193,726 bytes.
    /// The limit is on the body's own bytes, however it is framed.
    /// </summary>
    [Theory]
    [InlineData(64)]
    [InlineData(Limit)]
    public async Task ChunkedBody_AtTheLimitAccepted_OnePastItPayloadTooLarge(int chunk)
    {
        await using var host = await KestrelHost.StartAsync(new() { ["TRADESTORE__API__MAXREQUESTBODYBYTES"] = $"{Limit}" });
        using var http = host.Client();
        var ct = TestContext.Current.CancellationToken;

        using var at = new ChunkedContent(Padded(ApiClient.CreateBody("C-1"), Limit), chunk);
        using var past = new ChunkedContent(Padded(ApiClient.CreateBody("C-2"), Limit + 1), chunk);
        using var accepted = await http.PostAsync("/v1/trades", at, ct);
        using var refused = await http.PostAsync("/v1/trades", past, ct);

        Assert.True(accepted.StatusCode == HttpStatusCode.Created, await accepted.Content.ReadAsStringAsync(ct));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"field\":\"body\"", await refused.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        using var notWritten = await http.GetAsync("/v1/trades/C-2", ct);
        Assert.Equal(HttpStatusCode.NotFound, notWritten.StatusCode);
    }

    /// <summary>The same bodies with a <c>Content-Length</c>.</summary>
    [Fact]
    public async Task SizedBody_AtTheLimitAccepted_OnePastItPayloadTooLarge()
    {
        await using var host = await KestrelHost.StartAsync(new() { ["TRADESTORE__API__MAXREQUESTBODYBYTES"] = $"{Limit}" });
        using var http = host.Client();
        var ct = TestContext.Current.CancellationToken;

        using var at = new ByteArrayContent(Padded(ApiClient.CreateBody("S-1"), Limit));
        using var past = new ByteArrayContent(Padded(ApiClient.CreateBody("S-2"), Limit + 1));
        at.Headers.ContentType = past.Headers.ContentType = new("application/json");
        using var accepted = await http.PostAsync("/v1/trades", at, ct);
        using var refused = await http.PostAsync("/v1/trades", past, ct);

        Assert.True(accepted.StatusCode == HttpStatusCode.Created, await accepted.Content.ReadAsStringAsync(ct));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>JSON with blanks before its closing brace, exactly <paramref name="size"/> bytes.</summary>
    private static byte[] Padded(string json, int size) => Encoding.UTF8.GetBytes(json[..^1] + new string(' ', size - json.Length) + "}");

    /// <summary>A JSON body of unknown length, written in pieces of a given size: each one chunk on the wire.</summary>
    private sealed class ChunkedContent : HttpContent
    {
        private readonly byte[] _bytes;
        private readonly int _chunk;

        public ChunkedContent(byte[] bytes, int chunk)
        {
            _bytes = bytes;
            _chunk = chunk;
            Headers.ContentType = new("application/json");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var at = 0; at < _bytes.Length; at += _chunk)
            {
                await stream.WriteAsync(_bytes.AsMemory(at, Math.Min(_chunk, _bytes.Length - at)));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
