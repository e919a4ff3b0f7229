using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using TradeStore.Server;
using TradeStore.Server.Configuration;
using TradeStore.TestSupport;

namespace TradeStore.Client.Tests;

/// <summary>
/// The real TradeStore host on Kestrel on a loopback port, with a real DuckDB file: the client talks to it over TCP like
/// any caller. The query row limit is 5,000 so the limit can be shown; request limits are off so tests do not trip them.
/// </summary>
public class LiveServer : IAsyncLifetime
{
    public const int QueryMaxRows = 5_000;

    private readonly TempDirectory _data = new("client");
    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        BaseAddress = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var environment = new Dictionary<string, string>
        {
            ["TRADESTORE__STORAGE__DATADIRECTORY"] = _data.Path,
            ["TRADESTORE__SERVER__URLS"] = BaseAddress.ToString().TrimEnd('/'),
            ["TRADESTORE__SECURITY__QUERY__MAXROWS"] = QueryMaxRows.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["TRADESTORE__SECURITY__QUERY__MAXCONCURRENT"] = "8",
            ["TRADESTORE__SECURITY__QUERY__TIMEOUT"] = TestQueryTimeout.Value,
            // A query with minSeq waits for DuckDB, applied behind the log: on a loaded machine it lagged more than the
            // default 1 s and a read of the client's own write answered 503 seq-not-reached.
            ["TRADESTORE__CLUSTER__READWAITTIMEOUT"] = "00:00:10",
            ["TRADESTORE__SECURITY__REQUESTSPERSECOND"] = "0",
            ["TRADESTORE__SECURITY__CONCURRENTREQUESTS"] = "0",
        };
        Configure(environment);
        var configuration = TradeStoreConfiguration.Build(new ConfigurationInputs
        {
            BaseDirectory = _data.Path,
            WorkingDirectory = _data.Path,
            Environment = environment,
        });
        _app = TradeStoreHost.Build(configuration, builder => builder.Logging.ClearProviders());
        await _app.StartAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>More settings (as <c>TRADESTORE__…</c> variables) of a server that needs them.</summary>
    protected virtual void Configure(Dictionary<string, string> environment)
    {
    }

    /// <summary>A client of its own (own connection pool) on this server, or on <paramref name="via"/> (a proxy in front of it).</summary>
    public TradeStoreClient Client(Uri? via = null, Action<TradeStoreClientOptions>? configure = null)
    {
        var options = new TradeStoreClientOptions { BaseAddress = via ?? BaseAddress, MaxRetryDelay = TimeSpan.FromSeconds(2) };
        configure?.Invoke(options);
        var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan };
        return new TradeStoreClient(http, options);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }

        _data.Dispose();
    }
}

/// <summary>
/// <see cref="LiveServer"/> with one admin API key configured, so every request needs <c>Authorization: Bearer</c>
/// (the keyless loopback default is off): a request that lost its key on the way is refused 401.
/// </summary>
public sealed class KeyedLiveServer : LiveServer
{
    private readonly (string Key, string Hash) _key = TradeStore.Core.Security.ApiKeyHash.Generate();

    public string ApiKey => _key.Key;

    protected override void Configure(Dictionary<string, string> environment)
    {
        environment["TRADESTORE__SECURITY__APIKEYS__0__NAME"] = "client-tests";
        environment["TRADESTORE__SECURITY__APIKEYS__0__HASH"] = _key.Hash;
        environment["TRADESTORE__SECURITY__APIKEYS__0__ROLE"] = "admin";
    }
}
