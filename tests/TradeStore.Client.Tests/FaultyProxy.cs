using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TradeStore.Client.Tests;

/// <summary>What the proxy does with one accepted connection.</summary>
public enum ProxyFault
{
    /// <summary>Relay both ways.</summary>
    None,

    /// <summary>Relay the request, then close the connection as soon as the server's answer starts: the write happened, the answer is lost.</summary>
    DropAnswer,

    /// <summary>
    /// <see cref="DropAnswer"/>, and stop listening before the connection is reset: a node killed right after it applied a
    /// write (the answer never leaves, and every later connection to its address is refused).
    /// </summary>
    DropAnswerAndStop,

    /// <summary>Relay the request and never relay the answer, keeping the connection open: the caller times out.</summary>
    HoldAnswer,

    /// <summary>Answer <c>503</c> with <c>Retry-After: 1</c> without relaying anything.</summary>
    Busy,

    /// <summary>Answer <c>503 no-leader</c> (an election is running; nothing applied), like <see cref="Busy"/>.</summary>
    NoLeader,

    /// <summary>Answer <c>503 leadership-lost</c> (the write completed after the lease ran out: in doubt), like <see cref="Busy"/>.</summary>
    LeadershipLost,

    /// <summary>Answer <c>307</c> pointing at the server, or at <see cref="ProxySettings.RedirectTo"/> (a follower sending its caller to the leader).</summary>
    RedirectToServer,

    /// <summary>Answer <c>307</c> pointing at this proxy itself: a redirect loop (nodes that each name another as the leader).</summary>
    RedirectToItself,

    /// <summary>Answer <c>200</c> with an HTML page without relaying anything: a proxy's sign-in page in the server's place.</summary>
    LoginPage,
}

/// <summary>
/// How a <see cref="FaultyProxy"/> differs from a plain relay: where its 307s point (another proxy, to see what the
/// redirected request carries); one request per connection (the server is asked to close each connection after its
/// answer, so every request's head is recorded, not only a kept-alive connection's first); and a path prefix it serves
/// the server under (a gateway mounting TradeStore at <c>/tradestore</c>): the prefix is removed before relaying (one
/// request per connection, since only a connection's first head is rewritten), and a request outside it is answered
/// 404 by the proxy.
/// </summary>
public sealed record ProxySettings(Uri? RedirectTo = null, string? PathPrefix = null, bool OneRequestPerConnection = false);

/// <summary>
/// A TCP proxy on loopback in front of the real server that breaks chosen connections the way networks and busy or
/// clustered servers do. Each new connection takes the next queued fault (none once the queue is empty), and the
/// request head of every connection is recorded, so a test can see what each attempt carried.
/// </summary>
public sealed class FaultyProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Uri _server;
    private readonly ProxySettings _settings;
    private readonly Queue<ProxyFault> _faults = new();
    private readonly List<string> _requestHeads = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;

    public FaultyProxy(Uri server, params ProxyFault[] faults)
        : this(server, new ProxySettings(), faults)
    {
    }

    public FaultyProxy(Uri server, ProxySettings settings, params ProxyFault[] faults)
    {
        _server = server;
        _settings = settings;
        foreach (var fault in faults)
        {
            _faults.Enqueue(fault);
        }

        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = AcceptAsync();
    }

    public Uri Address { get; }

    /// <summary>The head (request line and headers) of the first request on each connection, in order.</summary>
    public IReadOnlyList<string> RequestHeads
    {
        get
        {
            lock (_requestHeads)
            {
                return [.. _requestHeads];
            }
        }
    }

    /// <summary>The value of <paramref name="header"/> in each recorded request head (null where absent).</summary>
    public IReadOnlyList<string?> Header(string header) =>
        [.. RequestHeads.Select(head => head.Split("\r\n").Skip(1)
            .Where(line => line.StartsWith(header + ":", StringComparison.OrdinalIgnoreCase))
            .Select(line => line[(header.Length + 1)..].Trim()).FirstOrDefault())];

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            ProxyFault fault;
            lock (_faults)
            {
                fault = _faults.Count > 0 ? _faults.Dequeue() : ProxyFault.None;
            }

            lock (_connections)
            {
                _connections.Add(HandleAsync(client, fault));
            }
        }
    }

    private async Task HandleAsync(TcpClient client, ProxyFault fault)
    {
        using (client)
        {
            var downstream = client.GetStream();
            try
            {
                var head = await ReadHeadAsync(downstream);
                lock (_requestHeads)
                {
                    _requestHeads.Add(Encoding.ASCII.GetString(head));
                }

                if (fault is ProxyFault.LoginPage)
                {
                    await DrainBodyAsync(downstream, head);
                    const string Page = "<!doctype html><title>Sign in</title><form>...</form>";
                    await downstream.WriteAsync(Encoding.ASCII.GetBytes(
                        $"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\nContent-Length: {Page.Length}\r\n\r\n{Page}"), _stop.Token);
                    return;
                }

                if (fault is ProxyFault.Busy or ProxyFault.NoLeader or ProxyFault.LeadershipLost or ProxyFault.RedirectToServer or ProxyFault.RedirectToItself)
                {
                    await DrainBodyAsync(downstream, head);
                    var redirectTo = fault == ProxyFault.RedirectToItself ? Address : _settings.RedirectTo ?? _server;
                    var location = new Uri(redirectTo, head.Length > 0 ? Encoding.ASCII.GetString(head).Split(' ')[1] : "/");
                    var problem = fault switch
                    {
                        ProxyFault.NoLeader => """{"type":"urn:tradestore:problem:no-leader","title":"No leader","status":503,"detail":"No leader is known. Nothing was applied."}""",
                        ProxyFault.LeadershipLost =>
                            """{"type":"urn:tradestore:problem:leadership-lost","title":"Leadership lost","status":503,"detail":"It may or may not survive the change of leader."}""",
                        _ => """{"type":"urn:tradestore:problem:busy","title":"Busy","status":503,"detail":"The write queue is full."}""",
                    };
                    var answer = fault is not (ProxyFault.RedirectToServer or ProxyFault.RedirectToItself)
                        ? $"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/problem+json\r\nConnection: close\r\nContent-Length: {problem.Length}\r\n\r\n{problem}"
                        : $"HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
                    await downstream.WriteAsync(Encoding.ASCII.GetBytes(answer), _stop.Token);
                    return;
                }

                if (_settings.PathPrefix is { } prefix && head.Length > 0)
                {
                    var text = Encoding.ASCII.GetString(head);
                    var target = text.Split(' ')[1];
                    if (!target.StartsWith(prefix + "/", StringComparison.Ordinal))
                    {
                        await DrainBodyAsync(downstream, head);
                        await downstream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"), _stop.Token);
                        return;
                    }

                    var space = text.IndexOf(' ', StringComparison.Ordinal);
                    head = Encoding.ASCII.GetBytes(string.Concat(text.AsSpan(0, space + 1), text.AsSpan(space + 1 + prefix.Length)));
                }

                if ((_settings.OneRequestPerConnection || _settings.PathPrefix is not null) && head.Length > 0)
                {
                    head = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(head)[..^2] + "Connection: close\r\n\r\n");
                }

                using var upstreamClient = new TcpClient();
                await upstreamClient.ConnectAsync(_server.Host, _server.Port, _stop.Token);
                var upstream = upstreamClient.GetStream();
                await upstream.WriteAsync(head, _stop.Token);
                var requests = downstream.CopyToAsync(upstream, _stop.Token);
                switch (fault)
                {
                    case ProxyFault.DropAnswer or ProxyFault.DropAnswerAndStop:
                        var first = new byte[1];
                        await upstream.ReadExactlyAsync(first, _stop.Token); // the server has committed and started answering
                        if (fault == ProxyFault.DropAnswerAndStop)
                        {
                            _listener.Stop(); // before the reset, so the caller's retry finds nothing listening
                        }

                        client.Client.LingerState = new LingerOption(true, 0);
                        return; // closing without relaying: the caller sees the connection drop
                    case ProxyFault.HoldAnswer:
                        await Task.Delay(Timeout.Infinite, _stop.Token);
                        return;
                    default:
                        var answers = upstream.CopyToAsync(downstream, _stop.Token);
                        await Task.WhenAny(requests, answers);
                        return;
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or EndOfStreamException)
            {
                // Either side went away: the connection is over.
            }
        }
    }

    /// <summary>Reads up to and including the blank line that ends the request head.</summary>
    private async Task<byte[]> ReadHeadAsync(NetworkStream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 64 * 1024)
        {
            if (await stream.ReadAsync(one, _stop.Token) == 0)
            {
                break;
            }

            head.Add(one[0]);
            if (head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n')
            {
                break;
            }
        }

        return [.. head];
    }

    private async Task DrainBodyAsync(NetworkStream stream, byte[] head)
    {
        var length = Encoding.ASCII.GetString(head).Split("\r\n")
            .Where(line => line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            .Select(line => int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture))
            .FirstOrDefault();
        if (length > 0)
        {
            await stream.ReadExactlyAsync(new byte[length], _stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections);
        _stop.Dispose();
    }
}
