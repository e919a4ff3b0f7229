using System.Net.ServerSentEvents;
using System.Text.Json;

namespace TradeStore.Server.Tests.Changes;

/// <summary>One open <c>GET /v1/changes</c> response read with the runtime's own SSE parser.</summary>
internal sealed class SseStream : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly Stream _body;
    private readonly IAsyncEnumerator<SseItem<string>> _items;

    private SseStream(HttpResponseMessage response, Stream body, CancellationToken cancellationToken)
    {
        _response = response;
        _body = body;
        _items = SseParser.Create(body).EnumerateAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
    }

    public HttpResponseMessage Response => _response;

    /// <summary>Opens the stream; the answer's headers have arrived when this returns.</summary>
    public static async Task<SseStream> OpenAsync(HttpClient http, string path, string? lastEventId = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        return new SseStream(response, body, cancellationToken);
    }

    /// <summary>The next event, or <see langword="null"/> when the server closed the stream.</summary>
    public async Task<SseItem<string>?> NextAsync() => await _items.MoveNextAsync() ? _items.Current : null;

    public static long Seq(SseItem<string> item) => JsonDocument.Parse(item.Data).RootElement.GetProperty("seq").GetInt64();

    public async ValueTask DisposeAsync()
    {
        await _items.DisposeAsync();
        await _body.DisposeAsync();
        _response.Dispose();
    }
}
