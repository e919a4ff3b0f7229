using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests;

/// <summary>A fresh data directory and the real host (engine, DuckDB) on a test server for each test.</summary>
public abstract class ApiTestBase : IAsyncLifetime
{
    private readonly TempDirectory _data = new("api");
    private WebApplication? _app;
    private HttpClient? _http;

    internal ApiClient Api { get; private set; } = null!;

    internal HttpClient Http => _http!;

    /// <summary>Extra <c>TRADESTORE__…</c> settings of the host, for tests of configured limits.</summary>
    protected virtual Dictionary<string, string> Environment => [];

    public async ValueTask InitializeAsync()
    {
        _app = await TestHostFactory.StartAsync(_data.Path, Environment);
        _http = _app.GetTestClient();
        Api = new ApiClient(_http);
    }

    public async ValueTask DisposeAsync()
    {
        _http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }

        _data.Dispose();
        GC.SuppressFinalize(this);
    }
}
