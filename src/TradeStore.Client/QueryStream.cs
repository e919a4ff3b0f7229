namespace TradeStore.Client;

/// <summary>
/// The answer body of <see cref="TradeStoreClient.QueryStreamAsync(string, QueryFormat, CancellationToken)"/>, read as it arrives (forward only, like the HTTP
/// body it wraps), with <see cref="AppliedSeq"/> from the answer's headers, which a raw stream could not carry.
/// Dispose it to release the connection.
/// </summary>
public sealed class QueryStream : Stream
{
    private readonly Stream _body;

    internal QueryStream(Stream body, long? appliedSeq)
    {
        _body = body;
        AppliedSeq = appliedSeq;
    }

    /// <summary>
    /// The answer's <c>TradeStore-Applied-Seq</c>: the journal seq DuckDB held when the query started, so every write
    /// up to it is in the answer. <see langword="null"/> when the server did not send it (a server older than the header).
    /// </summary>
    public long? AppliedSeq { get; }

    public override bool CanRead => _body.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => _body.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => _body.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _body.ReadAsync(buffer, offset, count, cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _body.ReadAsync(buffer, cancellationToken);

    public override Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken) =>
        _body.CopyToAsync(destination, bufferSize, cancellationToken);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        await _body.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _body.Dispose();
        }

        base.Dispose(disposing);
    }
}
