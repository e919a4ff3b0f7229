using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// A loopback TCP relay in front of a leader (which advertises it), relaying every connection unchanged except for what
/// Kestrel does to a connection it gives up on, each closed with a FIN after everything received was read, so the
/// peer's next write is taken by its own kernel and lost without an error:
/// <list type="bullet">
/// <item><see cref="CloseSilentAfter"/>: a connection whose client sent nothing for that long is closed (Kestrel's
/// keep-alive timeout, 130 s by default, which also runs before a connection's first request).</item>
/// <item><see cref="AnswerEarly"/>: the first connection whose request starts with it is answered <c>409</c> at once,
/// its body read and discarded for two seconds, then closed (a request answered before its body was read, as the
/// acknowledgements are when refused: Kestrel drains the body for a while, then closes).</item>
/// </list>
/// </summary>
internal sealed class LeaderRelay : IDisposable
{
    private static readonly TimeSpan DrainFor = TimeSpan.FromSeconds(2);
    private readonly IPEndPoint _target;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<TcpClient> _connections = [];
    private readonly List<string> _seen = [];
    private int _answered;
    private int _matching;
    private int _earlyClosed;
    private int _silentClosed;

    public LeaderRelay(Uri target, string? answerEarly = null, TimeSpan? closeSilentAfter = null)
    {
        _target = new IPEndPoint(IPAddress.Parse(target.Host), target.Port);
        AnswerEarly = answerEarly;
        CloseSilentAfter = closeSilentAfter;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _ = AcceptAsync();
    }

    /// <summary>The start of the request answered early, for example <c>POST /v1/replication/acks</c>; <see langword="null"/>: none.</summary>
    public string? AnswerEarly { get; }

    /// <summary>How long a connection may stay silent before its first byte; <see langword="null"/>: for ever.</summary>
    public TimeSpan? CloseSilentAfter { get; }

    public string Url { get; }

    /// <summary>Connections whose first request started with <see cref="AnswerEarly"/>, the one answered early included.</summary>
    public int Matching => Volatile.Read(ref _matching);

    /// <summary>Whether the connection answered early was closed (after its drain).</summary>
    public bool EarlyClosed => Volatile.Read(ref _earlyClosed) == 1;

    /// <summary>Connections closed because they stayed silent for <see cref="CloseSilentAfter"/>.</summary>
    public int SilentClosed => Volatile.Read(ref _silentClosed);

    /// <summary>The request line of each connection's first request, for a failure's message.</summary>
    public string Seen
    {
        get
        {
            lock (_lock)
            {
                return string.Join("; ", _seen);
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_lock)
        {
            foreach (var connection in _connections)
            {
                connection.Dispose();
            }

            _connections.Clear();
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
            {
                return;
            }

            lock (_lock)
            {
                _connections.Add(client);
            }

            _ = HandleAsync(client);
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        try
        {
            var stream = client.GetStream();
            var buffer = new byte[64 * 1024];
            int filled;
            using (var silence = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
            {
                if (CloseSilentAfter is { } after)
                {
                    silence.CancelAfter(after);
                }

                try
                {
                    filled = await stream.ReadAsync(buffer, silence.Token);
                }
                catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
                {
                    Close(client);
                    Interlocked.Increment(ref _silentClosed);
                    return;
                }
            }

            if (filled == 0)
            {
                client.Dispose();
                return;
            }

            var first = Encoding.ASCII.GetString(buffer, 0, filled);
            var lineEnd = first.IndexOf('\r', StringComparison.Ordinal);
            lock (_lock)
            {
                _seen.Add(first[..(lineEnd >= 0 ? lineEnd : Math.Min(first.Length, 80))]);
            }

            var matches = AnswerEarly is not null && first.StartsWith(AnswerEarly, StringComparison.Ordinal);
            if (matches)
            {
                Interlocked.Increment(ref _matching);
            }

            if (matches && Interlocked.Exchange(ref _answered, 1) == 0)
            {
                await AnswerEarlyAsync(client, stream, buffer);
                return;
            }

            var upstream = new TcpClient();
            await upstream.ConnectAsync(_target, _stop.Token);
            lock (_lock)
            {
                _connections.Add(upstream);
            }

            await upstream.GetStream().WriteAsync(buffer.AsMemory(0, filled), _stop.Token);
            _ = TcpRelay.PumpAsync(client, upstream);
            _ = TcpRelay.PumpAsync(upstream, client);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            client.Dispose();
        }
    }

    private async Task AnswerEarlyAsync(TcpClient client, NetworkStream stream, byte[] buffer)
    {
        await stream.WriteAsync("HTTP/1.1 409 Conflict\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), _stop.Token);
        using (var drain = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
        {
            drain.CancelAfter(DrainFor);
            try
            {
                while (await stream.ReadAsync(buffer, drain.Token) > 0)
                {
                    // discarded, as a server draining a body it answered early
                }
            }
            catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
            {
                // drained long enough
            }
        }

        Close(client);
        Volatile.Write(ref _earlyClosed, 1);
    }

    /// <summary>A FIN: everything received was read, so the close sends no reset.</summary>
    private static void Close(TcpClient client)
    {
        try
        {
            client.Client.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // the peer reset it already
        }

        client.Dispose();
    }
}
