using System.Net;
using System.Net.Sockets;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// A loopback TCP relay in front of a real server, for a real network cut: <see cref="Cut"/> closes every relayed
/// connection and stops listening (new connections are refused); <see cref="Restore"/> listens again on the same port.
/// <see cref="Freeze"/> is a hang instead: connections stay open but nothing is passed on until <see cref="Thaw"/>,
/// which passes on everything sent meanwhile, in order.
/// </summary>
internal sealed class TcpRelay : IDisposable
{
    private readonly IPEndPoint _target;
    private readonly Lock _lock = new();
    private readonly List<TcpClient> _connections = [];
    private TcpListener? _listener;
    private TaskCompletionSource _open = Opened();

    public TcpRelay(Uri target)
    {
        _target = new IPEndPoint(IPAddress.Parse(target.Host), target.Port);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = AcceptAsync(_listener);
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public void Cut()
    {
        lock (_lock)
        {
            _listener?.Stop();
            _listener = null;
            foreach (var connection in _connections)
            {
                connection.Dispose();
            }

            _connections.Clear();
        }
    }

    public void Restore()
    {
        lock (_lock)
        {
            _listener = new TcpListener(IPAddress.Loopback, Port);
            _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _listener.Start();
            _ = AcceptAsync(_listener);
        }
    }

    /// <summary>Stops passing bytes on, both ways, keeping every connection open: calls through the relay hang.</summary>
    public void Freeze()
    {
        var open = Volatile.Read(ref _open);
        if (open.Task.IsCompleted)
        {
            Interlocked.CompareExchange(ref _open, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), open);
        }
    }

    /// <summary>Passes on again, starting with what was sent while frozen.</summary>
    public void Thaw() => Volatile.Read(ref _open).TrySetResult();

    public void Dispose()
    {
        Thaw();
        Cut();
    }

    private static TaskCompletionSource Opened()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        while (true)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return; // cut
            }

            var upstream = new TcpClient();
            try
            {
                await upstream.ConnectAsync(_target);
            }
            catch (SocketException)
            {
                client.Dispose();
                upstream.Dispose();
                continue;
            }

            lock (_lock)
            {
                _connections.Add(client);
                _connections.Add(upstream);
            }

            _ = PumpAsync(client, upstream, () => Volatile.Read(ref _open).Task);
            _ = PumpAsync(upstream, client, () => Volatile.Read(ref _open).Task);
        }
    }

    /// <summary>
    /// Copies <paramref name="from"/> to <paramref name="to"/> until either side closes, then closes both (shared with
    /// <see cref="LeaderRelay"/>); each read is passed on once <paramref name="open"/> (when given) has completed.
    /// </summary>
    internal static async Task PumpAsync(TcpClient from, TcpClient to, Func<Task>? open = null)
    {
        try
        {
            if (open is null)
            {
                await from.GetStream().CopyToAsync(to.GetStream());
                return;
            }

            var buffer = new byte[81920];
            var (source, target) = (from.GetStream(), to.GetStream());
            int read;
            while ((read = await source.ReadAsync(buffer)) > 0)
            {
                await open();
                await target.WriteAsync(buffer.AsMemory(0, read));
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // the other side closed, or the relay was cut
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }
}
