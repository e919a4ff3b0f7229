using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using TradeStore.Core.Security;
using TradeStore.Core.Trades;
using TradeStore.Server.Configuration;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Changes;

/// <summary>
/// The real host on a real Kestrel listener on a free loopback port (streams need real sockets: back-pressure,
/// a browser), with a fresh DuckDB file. Keys are optional: without any, loopback callers have every role.
/// </summary>
internal sealed class KestrelHost : IAsyncDisposable
{
    private readonly TempDirectory _directory;

    private KestrelHost(WebApplication app, Uri address, IReadOnlyDictionary<string, string> keys, TempDirectory directory)
    {
        App = app;
        Address = address;
        Keys = keys;
        _directory = directory;
    }

    public WebApplication App { get; }

    public Uri Address { get; }

    /// <summary>API keys by the name given to <see cref="StartAsync"/>.</summary>
    public IReadOnlyDictionary<string, string> Keys { get; }

    public ITradeCommands Commands => App.Services.GetRequiredService<ITradeCommands>();

    /// <param name="environment">Extra <c>TRADESTORE__…</c> settings.</param>
    /// <param name="keys">Keys to configure: name → (role, accounts).</param>
    /// <param name="configure">Last-moment changes to the host, such as a middleware that observes requests.</param>
    public static async Task<KestrelHost> StartAsync(Dictionary<string, string>? environment = null, Dictionary<string, (string Role, string[] Accounts)>? keys = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        var directory = new TempDirectory("kestrel");
        var port = FreePort.Next();
        var env = new Dictionary<string, string>
        {
            ["TRADESTORE__STORAGE__DATADIRECTORY"] = directory.Path,
            ["TRADESTORE__SERVER__URLS"] = $"http://127.0.0.1:{port}",
            ["TRADESTORE__SERVER__SHUTDOWNTIMEOUT"] = "00:00:30", // room for a drain on a loaded machine
            ["TRADESTORE__SECURITY__REQUESTSPERSECOND"] = "0",
            ["TRADESTORE__SECURITY__CONCURRENTREQUESTS"] = "0",
        };
        foreach (var (name, value) in environment ?? [])
        {
            env[name] = value; // the caller's settings over these defaults
        }

        var issued = new Dictionary<string, string>();
        var index = 0;
        foreach (var (name, (role, accounts)) in keys ?? [])
        {
            var (key, hash) = ApiKeyHash.Generate();
            issued[name] = key;
            var prefix = $"TRADESTORE__SECURITY__APIKEYS__{index++}__";
            env[prefix + "NAME"] = name;
            env[prefix + "HASH"] = hash;
            env[prefix + "ROLE"] = role;
            for (var i = 0; i < accounts.Length; i++)
            {
                env[$"{prefix}ACCOUNTS__{i}"] = accounts[i];
            }
        }

        var configuration = TradeStoreConfiguration.Build(new ConfigurationInputs
        {
            BaseDirectory = directory.Path,
            WorkingDirectory = directory.Path,
            Environment = env,
        });
        var app = TradeStoreHost.Build(configuration, configure);
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new KestrelHost(app, new Uri($"http://127.0.0.1:{port}"), issued, directory);
    }

    /// <summary>An HTTP client of the host, with the named key when given.</summary>
    public HttpClient Client(string? keyName = null, HttpMessageHandler? handler = null)
    {
        var http = handler is null ? new HttpClient() : new HttpClient(handler);
        http.BaseAddress = Address;
        http.Timeout = Timeout.InfiniteTimeSpan;
        if (keyName is not null)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Keys[keyName]);
        }

        return http;
    }

    /// <summary>Creates trades <c>{prefix}{first}</c>… through the engine, all submitted at once; fails the test on any refusal.</summary>
    public async Task CreateAsync(string prefix, int first, int count, string account = "ACC-1", string symbol = "AAPL")
    {
        var pending = new List<ValueTask<CommandResult>>(count);
        for (var i = first; i < first + count; i++)
        {
            pending.Add(Commands.SubmitAsync(new CreateTrade($"{prefix}{i}", account, symbol, Side.Buy, 10, 1.5m)));
        }

        foreach (var result in pending)
        {
            var outcome = await result;
            Assert.True(outcome.Error is null, outcome.Error?.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
        _directory.Dispose();
    }
}
