using System.Net.Sockets;

namespace TradeStore.Cluster;

/// <summary>
/// A connected TCP socket that .NET's socket event threads never poll: a thread of its own reads it with blocking
/// receives, and writes are blocking sends on the caller's thread. The etcd client's connections use it, so a lease
/// renewal's answer is read as soon as it arrives even while every event thread runs requests
/// (<c>Server:InlineScheduling</c>).
/// </summary>
/// <remarks>
/// By design the socket only ever sees synchronous calls: the first asynchronous one would register it with an event
/// thread, and even its synchronous calls would then wait on that thread. Read continuations run on the thread pool,
/// never on the reader thread, so nothing the caller does after a read can hold up the next one. etcd's messages are
/// small, so a send rarely waits for buffer space.
/// </remarks>
internal sealed class ReaderThreadStream : Stream
{
    private readonly Socket _socket;
    private readonly string _peer;
    private readonly SemaphoreSlim _readRequested = new(0, 1);
    private readonly CancellationTokenSource _closed = new();
    private Memory<byte> _readBuffer;
    private TaskCompletionSource<int>? _read;
    private int _disposed;
    private int _ended;

    /// <param name="socket">A connected, blocking socket that no asynchronous call has used; the stream owns it.</param>
    /// <param name="name">The reader thread's name.</param>
    public ReaderThreadStream(Socket socket, string name)
    {
        if (!socket.Connected || !socket.Blocking)
        {
            throw new ArgumentException("The socket must be connected and blocking.", nameof(socket));
        }

        _socket = socket;
        _peer = socket.RemoteEndPoint?.ToString() ?? "the peer";
        new Thread(ReadLoop) { IsBackground = true, Name = name }.Start();
    }

    /// <summary>Whether the calling thread is the reader thread of a stream of this kind, for tests.</summary>
    public static bool IsReaderThread => t_isReader;

    [ThreadStatic]
    private static bool t_isReader;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        // An empty buffer is a zero-byte read, as HTTP clients use to wait for data without holding a buffer: it
        // completes (with 0) once data has arrived, not at once.
        var read = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _read, read, null) is not null)
        {
            throw new InvalidOperationException("A read is already in progress.");
        }

        _readBuffer = buffer;
        if (Volatile.Read(ref _ended) == 1)
        {
            // The reader thread is gone (end of stream or a failed receive): nothing will read the socket again.
            Interlocked.CompareExchange(ref _read, null, read);
            read.TrySetResult(0);
            return new ValueTask<int>(read.Task);
        }

        _readRequested.Release();
        if (!cancellationToken.CanBeCanceled)
        {
            return new ValueTask<int>(read.Task);
        }

        // A blocking receive cannot be called off; cancelling a read gives up the connection, as for a NetworkStream.
        var registration = cancellationToken.UnsafeRegister(static state => ((ReaderThreadStream)state!).Dispose(), this);
        return new ValueTask<int>(read.Task.ContinueWith(
            static (task, state) =>
            {
                ((CancellationTokenRegistration)state!).Dispose();
                return task.GetAwaiter().GetResult();
            },
            registration, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

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

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        try
        {
            while (!buffer.IsEmpty)
            {
                buffer = buffer[_socket.Send(buffer)..];
            }
        }
        catch (SocketException e)
        {
            throw new IOException($"Could not write to {_peer}: {e.Message}", e);
        }
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // Shutting the socket down wakes a blocked receive; the reader thread then ends.
            _closed.Cancel();
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
                // Already reset by the peer.
            }

            _socket.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Blocks until the socket can be read (data, the peer's end, or an error); a zero-byte read's answer.</summary>
    private int WaitForData()
    {
        _socket.Poll(-1, SelectMode.SelectRead);
        return 0;
    }

    private void ReadLoop()
    {
        t_isReader = true;
        try
        {
            while (true)
            {
                _readRequested.Wait(_closed.Token);
                var read = _read!;
                try
                {
                    var waitOnly = _readBuffer.IsEmpty;
                    var n = waitOnly ? WaitForData() : _socket.Receive(_readBuffer.Span);
                    _readBuffer = default;
                    Volatile.Write(ref _read, null);
                    if (Volatile.Read(ref _disposed) == 1)
                    {
                        // Woken by Dispose's shutdown before Dispose closed the socket, a receive answers 0 as if the
                        // peer had ended the stream (a loaded CI machine met it); a read cut off by Dispose fails, as it
                        // does when the close comes first.
                        read.SetException(new IOException($"The connection to {_peer} was closed."));
                        return;
                    }

                    read.SetResult(n);
                    if (n == 0 && !waitOnly)
                    {
                        return;
                    }
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    Volatile.Write(ref _read, null);
                    read.SetException(new IOException($"The connection to {_peer} was closed: {e.Message}", e));
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed between reads.
        }
        finally
        {
            // A read asked for while the loop ended is answered, not left waiting forever; later ones see _ended.
            Volatile.Write(ref _ended, 1);
            Interlocked.Exchange(ref _read, null)?.TrySetException(new IOException($"The connection to {_peer} was closed."));
        }
    }
}
