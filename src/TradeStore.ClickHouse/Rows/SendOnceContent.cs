using System.Net;

namespace TradeStore.ClickHouse.Rows;

/// <summary>
/// An INSERT body that can be sent only once. By design: <see cref="SocketsHttpHandler"/> silently re-sends a
/// request on a new connection when the old one closes before any response byte, even a POST whose body was
/// already sent; for an INSERT that ClickHouse may have applied that would be a duplicate. A second send fails
/// instead, and the sync daemon settles the outcome from ClickHouse's <c>max(seq)</c>.
/// </summary>
internal sealed class SendOnceContent : HttpContent
{
    private readonly ReadOnlyMemory<byte> _body;
    private int _sent;

    public SendOnceContent(ReadOnlyMemory<byte> body)
    {
        _body = body;
        Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-ndjson");
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _sent, 1) != 0)
        {
            throw new InvalidOperationException("The INSERT body was already sent once; not re-sending it (its outcome is unknown).");
        }

        await stream.WriteAsync(_body, cancellationToken);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _body.Length;
        return true;
    }
}
