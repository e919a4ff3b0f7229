using System.Buffers;
using System.Threading.Channels;
using TradeStore.Storage;

namespace TradeStore.Server.Api;

/// <summary>Where a <see cref="QueryResultWriter"/> puts an answer's bytes: whole chunks, in order, on the query's own thread.</summary>
public abstract class QueryBody
{
    /// <summary>Bytes appended so far (what <see cref="QueryLimits.MaxResultBytes"/> is held to).</summary>
    public long Written { get; private set; }

    /// <summary>Appends one whole chunk (a header, rows, a record batch, a footer).</summary>
    public void Append(ReadOnlySpan<byte> chunk)
    {
        if (chunk.IsEmpty)
        {
            return;
        }

        Written += chunk.Length;
        Accept(chunk);
    }

    /// <summary>Called by <see cref="QueryRunner"/> before the query runs: <paramref name="interrupt"/> is cancelled when it is stopped.</summary>
    public virtual void Begin(CancellationToken interrupt)
    {
    }

    /// <summary>Called by <see cref="QueryRunner"/> once the writer has written the whole answer.</summary>
    public virtual void Complete()
    {
    }

    /// <summary>Takes the chunk (copying what it keeps: the span is reused).</summary>
    protected abstract void Accept(ReadOnlySpan<byte> chunk);
}

/// <summary>The whole answer in memory.</summary>
public sealed class BufferedQueryBody : QueryBody
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.WrittenMemory;

    protected override void Accept(ReadOnlySpan<byte> chunk) => _buffer.Write(chunk);
}

/// <summary>
/// An answer handed from the query's thread to the request's as it is written: the first
/// <see cref="StreamAfterBytes"/> are held (so a small answer is sent whole, with its <c>Content-Length</c>, the
/// <c>X-Truncated</c> header and a late failure still a problem+json); past them, segments of about
/// <see cref="SegmentBytes"/> go through a bounded queue of <see cref="QueueSegments"/>, so a slow reader slows the query
/// instead of growing the server.
/// </summary>
public sealed class StreamingQueryBody : QueryBody
{
    /// <summary>How much of an answer is held before it starts to be sent.</summary>
    public const int StreamAfterBytes = 1 << 20;

    /// <summary>About how many bytes are sent at once.</summary>
    public const int SegmentBytes = 1 << 20;

    /// <summary>How many segments may wait for the network before the query waits.</summary>
    public const int QueueSegments = 4;

    private readonly Channel<ReadOnlyMemory<byte>> _segments = Channel.CreateBounded<ReadOnlyMemory<byte>>(
        new BoundedChannelOptions(QueueSegments) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly TaskCompletionSource _streaming = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ArrayBufferWriter<byte> _pending = new();
    private readonly bool _mayStream;
    private CancellationToken _interrupt;

    /// <param name="mayStream">Whether the format may be sent before it is complete (<see cref="QueryResultWriter.Streams"/>).</param>
    public StreamingQueryBody(bool mayStream)
    {
        _mayStream = mayStream;
    }

    /// <summary>Completes when the answer has grown past <see cref="StreamAfterBytes"/> and is being handed over in segments.</summary>
    public Task Streaming => _streaming.Task;

    /// <summary>The segments, once <see cref="Streaming"/>; complete when the writer is done or the reader gave up.</summary>
    public ChannelReader<ReadOnlyMemory<byte>> Segments => _segments.Reader;

    /// <summary>The whole answer, when the query finished before <see cref="Streaming"/>.</summary>
    public ReadOnlyMemory<byte> Held => _pending.WrittenMemory;

    public override void Begin(CancellationToken interrupt) => _interrupt = interrupt;

    public override void Complete()
    {
        if (_streaming.Task.IsCompleted)
        {
            Push();
        }

        LowPriorityThread.AtNormalPriority(() => _segments.Writer.TryComplete());
    }

    /// <summary>The reader's side is done (the query failed, timed out, or the caller went away): nothing more is queued.</summary>
    public void Abandon() => _segments.Writer.TryComplete();

    protected override void Accept(ReadOnlySpan<byte> chunk)
    {
        _pending.Write(chunk);
        if (!_streaming.Task.IsCompleted)
        {
            if (!_mayStream || Written < StreamAfterBytes)
            {
                return;
            }

            // Handed to a thread at normal priority, as every wake-up of the request's side (LowPriorityThread says why).
            LowPriorityThread.AtNormalPriority(() => _streaming.TrySetResult());
        }

        if (_pending.WrittenCount >= SegmentBytes)
        {
            Push();
        }
    }

    private void Push()
    {
        if (_pending.WrittenCount == 0)
        {
            return;
        }

        ReadOnlyMemory<byte> segment = _pending.WrittenSpan.ToArray();
        _pending.ResetWrittenCount();
        LowPriorityThread.AtNormalPriority(() =>
        {
            if (_segments.Writer.TryWrite(segment))
            {
                return;
            }

            try
            {
                // The query's slot waits (DuckDB blocks the query anyway): waiting here is how a slow reader slows the query.
                _segments.Writer.WriteAsync(segment, _interrupt).AsTask().GetAwaiter().GetResult();
            }
            catch (ChannelClosedException)
            {
                // The reader gave up; the query is being stopped.
                throw new OperationCanceledException("The answer's reader went away.", _interrupt);
            }
        });
    }
}
