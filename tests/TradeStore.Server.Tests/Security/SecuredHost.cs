using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Logging;
using TradeStore.Core.Security;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Security;

/// <summary>Who calls: a configured key (by role and scope), no key, or a wrong key.</summary>
public enum Caller
{
    Admin,
    TraderA,
    TraderB,
    ReaderA,
    Reader,
    Anonymous,
    WrongKey,
}

/// <summary>
/// The real host on TestServer with API keys configured through the environment: admin (every account),
/// trader and reader scoped to ACC-A, trader scoped to ACC-B, reader of every account. Trades T-A (ACC-A) and T-B (ACC-B) exist.
/// </summary>
public sealed class SecuredHost : IAsyncLifetime
{
    /// <summary>The host's <c>Security:Query:MaxResultBytes</c>.</summary>
    public const long MaxResultBytes = 256 * 1024;

    private readonly TempDirectory _directory = new();
    private readonly Dictionary<Caller, string> _keys = [];
    private WebApplication? _app;

    public CapturingLoggerProvider Logs { get; } = new();

    public IReadOnlyDictionary<Caller, string> Keys => _keys;

    /// <summary>Every configured hash, to prove none of them leaks.</summary>
    public List<string> Hashes { get; } = [];

    public WebApplication App => _app!;

    public async ValueTask InitializeAsync()
    {
        var environment = new Dictionary<string, string>
        {
            // Generous: queries run at nice 19 and may wait for the CPU while the suite runs (QueryTimeoutTests has a short one).
            ["TRADESTORE__SECURITY__QUERY__TIMEOUT"] = "00:00:30",
            ["TRADESTORE__SECURITY__QUERY__MAXRESULTBYTES"] = SecuredHost.MaxResultBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // The memory bound watches the whole process, and tests share one: another test's allocations must not
            // interrupt these queries (QueryMemoryBoundTests has its own host with a low bound).
            ["TRADESTORE__SECURITY__QUERY__MAXMEMORY"] = (1L << 40).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["TRADESTORE__SECURITY__REQUESTSPERSECOND"] = "0",
            ["TRADESTORE__SECURITY__CONCURRENTREQUESTS"] = "0",
        };
        AddKey(environment, 0, Caller.Admin, ApiRoles.Admin);
        AddKey(environment, 1, Caller.TraderA, ApiRoles.Trader, "ACC-A");
        AddKey(environment, 2, Caller.ReaderA, ApiRoles.Reader, "ACC-A");
        AddKey(environment, 3, Caller.Reader, ApiRoles.Reader);
        AddKey(environment, 4, Caller.TraderB, ApiRoles.Trader, "ACC-B");
        var (wrong, _) = ApiKeyHash.Generate();
        _keys[Caller.WrongKey] = wrong;
        _app = await TestHostFactory.StartAsync(_directory.Path, environment, builder => builder.Logging.AddProvider(Logs));
        var admin = Client(Caller.Admin);
        await admin.CreateAsync("T-A", account: "ACC-A");
        await admin.CreateAsync("T-B", account: "ACC-B");
    }

    internal ApiClient Client(Caller caller, string? remoteAddress = null)
    {
        var http = App.GetTestServer().CreateClient();
        if (_keys.TryGetValue(caller, out var key))
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        if (remoteAddress is not null)
        {
            http.DefaultRequestHeaders.Add(TestHostFactory.RemoteAddressHeader, remoteAddress);
        }

        return new ApiClient(http);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        _directory.Dispose();
    }

    private void AddKey(Dictionary<string, string> environment, int index, Caller caller, string role, params string[] accounts)
    {
        var (key, hash) = ApiKeyHash.Generate();
        _keys[caller] = key;
        Hashes.Add(hash);
        var prefix = $"TRADESTORE__SECURITY__APIKEYS__{index}__";
        environment[prefix + "NAME"] = caller.ToString();
        environment[prefix + "HASH"] = hash;
        environment[prefix + "ROLE"] = role;
        for (var i = 0; i < accounts.Length; i++)
        {
            environment[$"{prefix}ACCOUNTS__{i}"] = accounts[i];
        }
    }
}

/// <summary>Keeps every formatted log line (with its exception) so tests can look for leaked secrets.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}[{eventId.Id}] {formatter(state, exception)} {exception}");
    }
}
