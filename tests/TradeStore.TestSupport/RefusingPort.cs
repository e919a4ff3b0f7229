using System.Net;
using System.Net.Sockets;

namespace TradeStore.TestSupport;

/// <summary>
/// A loopback TCP port that refuses every connection for as long as this lives: it is bound and never listened on, so
/// no server started meanwhile (by another test running in parallel) can take it, unlike a port from
/// <see cref="FreePort"/> that is released at once.
/// </summary>
public sealed class RefusingPort : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public RefusingPort() => _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));

    public int Port => ((IPEndPoint)_socket.LocalEndPoint!).Port;

    public void Dispose() => _socket.Dispose();
}
