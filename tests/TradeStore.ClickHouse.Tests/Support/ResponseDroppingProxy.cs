using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TradeStore.ClickHouse.Tests.Support;

/// <summary>How the proxy loses a response.</summary>
public enum DropMode
{
    /// <summary>Close the client's connection once ClickHouse has answered: a connection reset after the request was applied.</summary>
    Close,

    /// <summary>Keep the connection open and never pass the answer on: the client times out.</summary>
    Hang,
}

/// <summary>
/// A loopback TCP proxy in front of ClickHouse that forwards everything, except that for the first
/// <c>drops</c> requests whose request line contains <c>marker</c> it lets ClickHouse execute the request and then
/// loses the answer. The client cannot tell whether the request was applied: the fault the sync must survive.
/// </summary>
internal sealed class ResponseDroppingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _upstream;
    private readonly byte[] _marker;
    private readonly DropMode _mode;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private readonly Lock _lock = new();
    private int _dropsLeft;
    private int _dropped;
    private int _marked;

    public ResponseDroppingProxy(Uri upstream, string marker, DropMode mode, int drops = 1)
    {
        _upstream = new IPEndPoint(IPAddress.Loopback, upstream.Port);
        _marker = Encoding.ASCII.GetBytes(marker);
        _mode = mode;
        _dropsLeft = drops;
        _listener.Start();
        _tasks.Add(AcceptLoopAsync());
    }

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Responses lost so far.</summary>
    public int Dropped => Volatile.Read(ref _dropped);

    /// <summary>Reads so far that carried the marker (with <c>drops: 0</c> every answer passes: the proxy only counts).</summary>
    public int Marked => Volatile.Read(ref _marked);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Task[] tasks;
        lock (_lock)
        {
            tasks = [.. _tasks];
        }

        await Task.WhenAll(tasks.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            lock (_lock)
            {
                _tasks.Add(ServeAsync(client));
            }
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        using var upstream = new TcpClient();
        await upstream.ConnectAsync(_upstream, _stop.Token);
        var clientStream = client.GetStream();
        var upstreamStream = upstream.GetStream();
        var armed = new Armed();
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var requests = PumpRequestsAsync(clientStream, upstreamStream, armed, connection.Token);
        var responses = PumpResponsesAsync(upstreamStream, clientStream, armed, connection.Token);
        await Task.WhenAny(requests, responses);
        if (_mode == DropMode.Hang && armed.Value)
        {
            await Task.Delay(Timeout.Infinite, _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        await connection.CancelAsync();
        await Task.WhenAll(requests, responses).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private async Task PumpRequestsAsync(NetworkStream from, NetworkStream to, Armed armed, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
        {
            if (buffer.AsSpan(0, read).IndexOf(_marker) >= 0)
            {
                Interlocked.Increment(ref _marked);
                if (Interlocked.Decrement(ref _dropsLeft) >= 0)
                {
                    armed.Value = true;
                }
            }

            await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }
    }

    private async Task PumpResponsesAsync(NetworkStream from, NetworkStream to, Armed armed, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
        {
            if (armed.Value)
            {
                // ClickHouse answers an INSERT only after applying it: from here the client can never learn that it was.
                Interlocked.Increment(ref _dropped);
                return;
            }

            await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }
    }

    /// <summary>Set when the connection carried a marked request: its answer is to be lost.</summary>
    private sealed class Armed
    {
        private volatile bool _value;

        public bool Value
        {
            get => _value;
            set => _value = value;
        }
    }
}
