using System.Buffers;

namespace TradeStore.Server.Api;

/// <summary>
/// A write-only stream into an <see cref="IBufferWriter{T}"/> that can be switched between writes, so a binary encoder
/// (Arrow, Parquet) writes its header and footer into the answer's body and each batch into a chunk that
/// <see cref="QueryResultWriter"/> keeps or leaves out. <see cref="Position"/> counts every byte written, which Parquet
/// records as offsets in its footer.
/// </summary>
internal sealed class BufferWriterStream : Stream
{
    private long _written;

    /// <summary>Where the next writes go.</summary>
    public IBufferWriter<byte>? Target { get; set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _written;

    public override long Position
    {
        get => _written;
        set => throw new NotSupportedException("The answer is written forwards only.");
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        (Target ?? throw new InvalidOperationException("No target to write to.")).Write(buffer);
        _written += buffer.Length;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
