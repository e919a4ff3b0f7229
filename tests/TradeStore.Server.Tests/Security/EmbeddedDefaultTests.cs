using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.TestHost;
using TradeStore.Core.Security;
using TradeStore.Server.Configuration;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Security;

/// <summary>No keys configured: loopback callers have every role, others are refused, and exposure is refused at start-up.</summary>
public sealed class EmbeddedDefaultTests
{
    [Fact]
    public async Task NoKeys_LoopbackCaller_EveryRole()
    {
        using var directory = new TempDirectory();
        var logs = new CapturingLoggerProvider();
        await using var app = await TestHostFactory.StartAsync(directory.Path, configure: b => b.Logging.AddProvider(logs));
        var client = new ApiClient(app.GetTestServer().CreateClient());

        await client.CreateAsync("LOOP-1");
        var query = await client.PostAsync("/v1/query", """{"sql":"SELECT count(*) AS n FROM trade_state"}""");

        Assert.Equal(200, query.Code);
        Assert.Equal(200, (await client.GetAsync("/metrics")).Code);
        Assert.Contains(logs.Lines, l => l.Contains("[1200]", StringComparison.Ordinal) && l.Contains("AUTHENTICATION IS OFF", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("10.0.0.5")]
    [InlineData("192.168.1.20")]
    [InlineData("none")] // no remote address at all (TestServer's default): fails closed
    public async Task NoKeys_NonLoopbackCaller_401EverywhereButHealth(string remote)
    {
        using var directory = new TempDirectory();
        await using var app = await TestHostFactory.StartAsync(directory.Path);
        var http = app.GetTestServer().CreateClient();
        http.DefaultRequestHeaders.Add(TestHostFactory.RemoteAddressHeader, remote);
        var client = new ApiClient(http);

        Assert.Equal(401, (await client.PostAsync("/v1/trades", ApiClient.CreateBody("FAR-1"))).Code);
        Assert.Equal(401, (await client.GetAsync("/v1/trades")).Code);
        Assert.Equal(401, (await client.PostAsync("/v1/query", """{"sql":"SELECT 1"}""")).Code);
        Assert.Equal(401, (await client.GetAsync("/metrics")).Code);
        Assert.Equal(200, (await client.GetAsync("/health/live")).Code);
        Assert.Equal(404, (await new ApiClient(app.GetTestServer().CreateClient()).GetAsync("/v1/trades/FAR-1")).Code);
    }

    /// <summary>
    /// A reverse proxy on this machine (nginx, Caddy, a sidecar) connects from loopback for callers from anywhere: with
    /// authentication off they read, wrote and ran SQL as a local caller. The header such a proxy adds gives it away.
    /// </summary>
    [Theory]
    [InlineData("X-Forwarded-For", "203.0.113.7")]
    [InlineData("Forwarded", "for=203.0.113.7")]
    [InlineData("X-Real-IP", "203.0.113.7")]
    [InlineData("X-Forwarded-Host", "trades.example.com")]
    public async Task NoKeys_LoopbackConnectionThroughProxy_401EverywhereButHealthAndNoDescriptions(string header, string value)
    {
        using var directory = new TempDirectory();
        await using var app = await TestHostFactory.StartAsync(directory.Path);
        var http = app.GetTestServer().CreateClient();
        http.DefaultRequestHeaders.Add(header, value);
        var proxied = new ApiClient(http);

        var create = await proxied.PostAsync("/v1/trades", ApiClient.CreateBody("PROXIED-1"));

        Assert.Equal(401, create.Code);
        Assert.Contains(header, create.Body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(401, (await proxied.GetAsync("/v1/trades")).Code);
        Assert.Equal(401, (await proxied.PostAsync("/v1/query", """{"sql":"SELECT 1"}""")).Code);
        Assert.Equal(401, (await proxied.GetAsync("/metrics")).Code);
        var ready = await proxied.GetAsync("/health/ready");
        Assert.Equal(200, ready.Code);
        Assert.DoesNotContain("description", ready.Raw, StringComparison.Ordinal);
        // The same loopback connection without the header is still served, and nothing was written.
        Assert.Equal(404, (await new ApiClient(app.GetTestServer().CreateClient()).GetAsync("/v1/trades/PROXIED-1")).Code);
    }

    [Theory]
    [InlineData("http://0.0.0.0:5080")]
    [InlineData("http://*:5080")]
    [InlineData("http://127.0.0.1:5080;http://10.0.0.5:5080")]
    [InlineData("http://example.com:5080")]
    public void NoKeys_NonLoopbackUrls_RefusedNamingServerUrls(string urls)
    {
        using var directory = new TempDirectory();
        var configuration = Configuration(directory.Path, new() { ["TRADESTORE__SERVER__URLS"] = urls });

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreHost.Build(configuration));

        Assert.StartsWith("Server:Urls:", error.Message, StringComparison.Ordinal);
        Assert.Contains("Security:ApiKeys", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(directory.Path, "tradestore.duckdb")));
    }

    [Theory]
    [InlineData("http://localhost:5080")]
    [InlineData("http://[::1]:5080")]
    [InlineData("http://127.0.0.2:5080")]
    public async Task NoKeys_LoopbackUrls_Accepted(string urls)
    {
        using var directory = new TempDirectory();
        await using var app = TradeStoreHost.Build(Configuration(directory.Path, new() { ["TRADESTORE__SERVER__URLS"] = urls }));

        Assert.NotNull(app);
    }

    [Fact]
    public async Task WithKeys_NonLoopbackUrls_Accepted()
    {
        using var directory = new TempDirectory();
        var (_, hash) = ApiKeyHash.Generate();
        await using var app = TradeStoreHost.Build(Configuration(directory.Path, new()
        {
            ["TRADESTORE__SERVER__URLS"] = "http://0.0.0.0:5080",
            ["TRADESTORE__SECURITY__APIKEYS__0__NAME"] = "ops",
            ["TRADESTORE__SECURITY__APIKEYS__0__HASH"] = hash,
            ["TRADESTORE__SECURITY__APIKEYS__0__ROLE"] = "admin",
        }));

        Assert.NotNull(app);
    }

    [Theory]
    [InlineData("HASH", "sha256$abc", "Security:ApiKeys:0:Hash")]
    [InlineData("ROLE", "root", "Security:ApiKeys:0:Role")]
    [InlineData("NAME", "", "Security:ApiKeys:0:Name")]
    public void BadKeyEntry_RefusedNamingTheKeyWithoutTheValue(string setting, string value, string expected)
    {
        using var directory = new TempDirectory();
        var (_, hash) = ApiKeyHash.Generate();
        var env = new Dictionary<string, string>
        {
            ["TRADESTORE__SECURITY__APIKEYS__0__NAME"] = "ops",
            ["TRADESTORE__SECURITY__APIKEYS__0__HASH"] = hash,
            ["TRADESTORE__SECURITY__APIKEYS__0__ROLE"] = "admin",
        };
        env["TRADESTORE__SECURITY__APIKEYS__0__" + setting] = value;

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreSettings.Bind(Configuration(directory.Path, env)));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(hash, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SecretsToml_ArrayOfTables_BindsKeys()
    {
        using var directory = new TempDirectory();
        var (_, hash) = ApiKeyHash.Generate();
        var file = Path.Combine(directory.Path, "secrets.toml");
        File.WriteAllText(file, $"""
            [[Security.ApiKeys]]
            Name = "desk-a"
            Hash = "{hash}"
            Role = "trader"
            Accounts = ["ACC1", "ACC2"]

            [[Security.ApiKeys]]
            Name = "ops"
            Hash = "{ApiKeyHash.Generate().Hash}"
            Role = "admin"
            """);
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var settings = TradeStoreSettings.Bind(Configuration(directory.Path, []));

        Assert.Equal(2, settings.Security.ApiKeys.Count);
        Assert.Equal(["ACC1", "ACC2"], settings.Security.ApiKeys[0].Accounts);
        Assert.Equal("admin", settings.Security.ApiKeys[1].Role);
        Assert.DoesNotContain(hash, ConfigurationPrinter.ToJson(settings), StringComparison.Ordinal);
    }

    private static Microsoft.Extensions.Configuration.IConfigurationRoot Configuration(string directory, Dictionary<string, string> environment)
    {
        environment["TRADESTORE__STORAGE__DATADIRECTORY"] = directory;
        return TradeStoreConfiguration.Build(new ConfigurationInputs { BaseDirectory = directory, WorkingDirectory = directory, Environment = environment });
    }
}
