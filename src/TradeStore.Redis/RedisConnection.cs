using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using TradeStore.Core.Options;

namespace TradeStore.Redis;

/// <summary>
/// The process's one multiplexer to Redis. It connects in the background and never throws at start-up:
/// Redis is derived state, so TradeStore serves (degraded) while Redis is away.
/// </summary>
public sealed class RedisConnection : IAsyncDisposable
{
    private readonly Lazy<Task<ConnectionMultiplexer>> _multiplexer;
    private readonly EndPoint[] _endPoints;
    private readonly ConfigurationOptions _configuration;

    public RedisConnection(IOptions<RedisOptions> options)
    {
        var redis = options.Value;
        if (!redis.Enabled)
        {
            throw new InvalidOperationException("Redis is not configured (Redis:Connection is unset).");
        }

        var configuration = ConfigurationOptions.Parse(redis.Connection!);
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = (int)redis.HealthTimeout.TotalMilliseconds * 5;
        configuration.ClientName = "tradestore";
        if (redis.Password is { Length: > 0 } password)
        {
            configuration.Password = password;
        }

        _configuration = configuration;
        _endPoints = [.. configuration.EndPoints];
        Endpoint = string.Join(",", configuration.EndPoints.Select(e => e.ToString()));
        _multiplexer = new Lazy<Task<ConnectionMultiplexer>>(() => ConnectionMultiplexer.ConnectAsync(configuration));
    }

    /// <summary>
    /// A connection outside a host (command-line tools, the bench), built the one way every connection is built:
    /// <see cref="RedisServiceCollectionExtensions.AddTradeStoreRedis"/> over its own small container. The caller disposes it.
    /// </summary>
    public static RedisConnection Create(RedisOptions options) =>
        new ServiceCollection()
            .AddSingleton(Options.Create(options))
            .AddTradeStoreRedis()
            .BuildServiceProvider()
            .GetRequiredService<RedisConnection>();

    /// <summary>The configured endpoints, without credentials.</summary>
    public string Endpoint { get; }

    public async Task<IDatabase> GetDatabaseAsync() => (await _multiplexer.Value).GetDatabase();

    /// <summary>
    /// The database once Redis is known to be reachable: for a check or an operator's command, which should say at once
    /// that Redis is down rather than wait out a command's timeout.
    /// </summary>
    /// <exception cref="RedisException">Not connected, and no endpoint accepts a TCP connection within <paramref name="timeout"/>; the message says why.</exception>
    public async Task<IDatabase> GetReachableDatabaseAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        return await UnreachableReasonAsync(timeout, cancellationToken) is { } reason
            ? throw new RedisException(reason)
            : await GetDatabaseAsync().WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Why Redis cannot be reached now, or <see langword="null"/> when the multiplexer is connected or something accepts a
    /// TCP connection at one of the endpoints and answers without an error (a command's own answer then says more); a
    /// refused password is named (<see cref="RefusalAsync"/>). By design the network is asked
    /// directly: while disconnected, StackExchange.Redis queues every command and reports only a timeout, so a stopped
    /// server, a wrong port and a slow server all read "no answer"; the socket says "Connection refused".
    /// </summary>
    public async Task<string?> UnreachableReasonAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Not awaited: the multiplexer's first connection to a refusing server takes its whole ConnectTimeout.
        if (_multiplexer.Value is { IsCompletedSuccessfully: true, Result.IsConnected: true })
        {
            return null;
        }

        var reasons = new List<string>();
        foreach (var endPoint in _endPoints)
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(timeout);
            try
            {
                await socket.ConnectAsync(endPoint, attempt.Token);
                return await RefusalAsync(socket, attempt.Token);
            }
            catch (SocketException ex)
            {
                reasons.Add(_endPoints.Length > 1 ? $"{endPoint}: {ex.Message}" : ex.Message);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && socket.Connected)
            {
                return null; // it accepted, but did not answer in time: a command's own timeout says more
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                var noAnswer = $"no TCP connection within {timeout.TotalMilliseconds:0} ms";
                reasons.Add(_endPoints.Length > 1 ? $"{endPoint}: {noAnswer}" : noAnswer);
            }
        }

        return $"not connected ({string.Join("; ", reasons)})";
    }

    /// <summary>
    /// On a connection that something accepted while the multiplexer is not connected: sends what the multiplexer would
    /// send first (<c>AUTH</c> with the configured credentials, else <c>PING</c>) and returns Redis's error, or
    /// <see langword="null"/> when it answers without one. By design: a server that accepts TCP but refuses the password
    /// (requirepass, Redis:Password wrong or unset) read "no answer within 1000 ms" in readiness and in the final flush's
    /// line, as a slow server does, since the multiplexer only queues commands while not connected (sink audit).
    /// </summary>
    private async Task<string?> RefusalAsync(Socket socket, CancellationToken cancellationToken)
    {
        if (_configuration.Ssl)
        {
            return null; // the plain-text probe would mean nothing to a TLS endpoint
        }

        string[] command = _configuration.Password is { Length: > 0 } password
            ? _configuration.User is { Length: > 0 } user ? ["AUTH", user, password] : ["AUTH", password]
            : ["PING"];
        var request = new StringBuilder().Append('*').Append(command.Length).Append("\r\n");
        foreach (var part in command)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(part)).Append("\r\n").Append(part).Append("\r\n");
        }

        await socket.SendAsync(Encoding.UTF8.GetBytes(request.ToString()), SocketFlags.None, cancellationToken);
        var buffer = new byte[512];
        var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
        var line = Encoding.UTF8.GetString(buffer, 0, read).Split('\r', 2)[0];
        if (!line.StartsWith('-'))
        {
            return null;
        }

        var error = line[1..];
        return error.StartsWith("NOAUTH", StringComparison.Ordinal) || error.StartsWith("WRONGPASS", StringComparison.Ordinal) || error.Contains("password", StringComparison.OrdinalIgnoreCase)
            ? $"not connected (Redis refused the credentials (check Redis:Password): {error})"
            : $"not connected (Redis answered: {error})";
    }

    public async ValueTask DisposeAsync()
    {
        if (_multiplexer.IsValueCreated)
        {
            var multiplexer = await _multiplexer.Value;
            // By design without the goodbye QUIT and its wait: every command that mattered was awaited before (serve closes
            // the connection after the sinks flushed), and a Redis that stopped answering made the close wait the whole
            // sync timeout (5 s by default), past Server:ShutdownTimeout.
            await multiplexer.CloseAsync(allowCommandsToComplete: false);
            await multiplexer.DisposeAsync();
        }
    }
}
