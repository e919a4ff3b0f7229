using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;

namespace TradeStore.Cluster;

/// <summary>
/// The gRPC channel to etcd. Its connections are <see cref="ReaderThreadStream"/>s, read by threads of their own, so
/// lease renewals and the leader key's watch never wait behind requests on .NET's socket event threads: a cluster node
/// can run requests on those threads (<c>Server:InlineScheduling</c>) as a standalone one does.
/// </summary>
/// <remarks>
/// One connection at a time, to the first endpoint that accepts, in the configured order starting from the last one
/// that worked: a failed connection is reopened to the next endpoint. (dotnet-etcd's own channel balances calls over
/// every endpoint with sockets of its own, which the event threads poll.)
/// </remarks>
public sealed class EtcdChannel : IDisposable
{
    /// <summary>How long one endpoint may take to accept a connection before the next is tried.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(2);

    /// <summary>A call etcd could not be reached for is tried again, as dotnet-etcd's own channel does (4 more times, 1–5 s apart).</summary>
    private static readonly MethodConfig UnavailableRetried = new()
    {
        Names = { MethodName.Default },
        RetryPolicy = new RetryPolicy
        {
            MaxAttempts = 5,
            InitialBackoff = TimeSpan.FromSeconds(1),
            MaxBackoff = TimeSpan.FromSeconds(5),
            BackoffMultiplier = 1.5,
            RetryableStatusCodes = { StatusCode.Unavailable },
        },
    };

    private readonly Connector _connector;

    /// <summary>A channel to the etcd <paramref name="endpoints"/> (http://host:port); dispose it after the client.</summary>
    public EtcdChannel(IReadOnlyList<Uri> endpoints)
    {
        ArgumentOutOfRangeException.ThrowIfZero(endpoints.Count);
        _connector = new Connector(endpoints);
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = _connector.ConnectAsync,
            // An idle connection is probed, so a dead etcd or a silently dropped connection is found and replaced.
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            EnableMultipleHttp2Connections = false,
        };
        Channel = GrpcChannel.ForAddress(endpoints[0].GetLeftPart(UriPartial.Authority), new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            ThrowOperationCanceledOnCancellation = true,
            ServiceConfig = new ServiceConfig { MethodConfigs = { UnavailableRetried } },
        });
    }

    public GrpcChannel Channel { get; }

    /// <summary>Connections this channel opened to etcd: one at a time, so more than one means a connection failed and was opened again.</summary>
    public long Connections => Interlocked.Read(ref _connector.Opened);

    /// <summary>Why the last attempt to connect failed, when it did; <see langword="null"/> once a connection was opened.</summary>
    public string? LastConnectFailure => Volatile.Read(ref _connector.LastFailure);

    public void Dispose() => Channel.Dispose();

    private sealed class Connector(IReadOnlyList<Uri> endpoints)
    {
        public string? LastFailure;
        public long Opened;
        private int _next;

        public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
        {
            var failures = new List<string>();
            var first = Volatile.Read(ref _next);
            for (var i = 0; i < endpoints.Count; i++)
            {
                var index = (first + i) % endpoints.Count;
                var endpoint = endpoints[index];
                try
                {
                    var socket = await ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
                    Volatile.Write(ref _next, index);
                    Volatile.Write(ref LastFailure, null);
                    Interlocked.Increment(ref Opened);
                    return new ReaderThreadStream(socket, "etcd-reader");
                }
                catch (Exception e) when (e is SocketException or TimeoutException)
                {
                    failures.Add($"{endpoint.GetLeftPart(UriPartial.Authority)}: {e.Message}");
                }
            }

            // An IOException, which gRPC reports as Unavailable: the call is retried, as for any connection failure.
            Volatile.Write(ref _next, (first + 1) % endpoints.Count);
            var failure = $"No etcd endpoint accepted a connection ({string.Join("; ", failures)}).";
            Volatile.Write(ref LastFailure, failure);
            throw new IOException(failure);
        }

        /// <summary>
        /// Connects with blocking calls on a pool thread, so the socket is never registered with an event thread; a
        /// connection that does not complete in <see cref="ConnectTimeout"/> is abandoned (its socket closed).
        /// </summary>
        private static async Task<Socket> ConnectAsync(Uri endpoint, CancellationToken cancellationToken)
        {
            Socket? socket = null;
            var connect = Task.Run(() =>
            {
                var failure = default(SocketException);
                foreach (var address in Dns.GetHostAddresses(endpoint.Host))
                {
                    var candidate = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    Volatile.Write(ref socket, candidate);
                    try
                    {
                        candidate.Connect(address, endpoint.Port);
                        return candidate;
                    }
                    catch (SocketException e)
                    {
                        candidate.Dispose();
                        failure = e;
                    }
                }

                throw failure ?? new SocketException((int)SocketError.HostNotFound);
            }, CancellationToken.None);
            try
            {
                return await connect.WaitAsync(ConnectTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                // Closing the socket ends the blocked connect; its task then fails, observed here so it is not reported.
                Volatile.Read(ref socket)?.Dispose();
                _ = connect.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                if (e is TimeoutException)
                {
                    throw new TimeoutException($"no connection within {ConnectTimeout.TotalSeconds:0} s");
                }

                throw;
            }
        }
    }
}
