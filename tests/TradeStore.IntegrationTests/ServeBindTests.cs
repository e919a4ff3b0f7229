using System.Net;
using System.Net.Sockets;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// Issue #19, findings 8 and 11, through the real <c>tradestore serve</c> process: a bad address (or logging level) exits 2
/// naming it, never 134; an address another process holds exits 1 (a moment's condition the guard retries, not a configuration error).
/// </summary>
public sealed class ServeBindTests : IDisposable
{
    private readonly TempDirectory _work = new("bind");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task Serve_PortInUse_ExitsOneNamingAddressAndCause()
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var port = ((IPEndPoint)occupant.LocalEndpoint).Port;

        var data = _work.File("data");
        var (exitCode, output) = await TradeStoreProcess.RunAsync(["serve", "--data", data, "--urls", $"http://127.0.0.1:{port}"], _work.Path);

        Assert.Equal(1, exitCode);
        Assert.Contains($"127.0.0.1:{port}", output, StringComparison.Ordinal);
        Assert.Contains("in use", output, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("another process is listening there", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        // Found before the host starts: no page of the host's stack trace before the line, and no engine started
        // (which first loads the whole state index) only to be stopped again.
        Assert.DoesNotContain("Hosting failed to start", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("WriteEngine stopping", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(data), "the data directory was created for a server that could not listen");
    }

    /// <summary>
    /// A logging level .NET does not know: serve died when it made its first logger, with "Unhandled exception.
    /// System.InvalidOperationException: Configuration value 'Verbose' is not supported." and a stack trace (exit 134).
    /// </summary>
    [Fact]
    public async Task Serve_LoggingLevelNotALevel_ExitsTwoNamingTheKeyWithoutStackTrace()
    {
        var data = _work.File("data");

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["serve", "--data", data, "--urls", $"http://127.0.0.1:{FreePort.Next()}"], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__LOGGING__LOGLEVEL__DEFAULT"] = "Verbose" });

        Assert.True(exitCode == 2, $"exit code {exitCode}:\n{output}");
        Assert.Contains("tradestore: configuration error: Logging:LogLevel:DEFAULT: must be one of Trace, Debug, Information, Warning, Error, Critical, None; got 'Verbose'.", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(data), "nothing was started");
    }

    /// <summary>
    /// An https:// address, which Server:Urls accepts: serve died of "Call UseKestrelHttpsConfiguration() on IWebHostBuilder
    /// to automatically enable HTTPS when an https:// address is used." with a stack trace (exit 134), certificate or not.
    /// Now it serves with Kestrel:Certificates:Default, and without a certificate exits 2 naming the address.
    /// </summary>
    [Fact]
    public async Task Serve_HttpsAddress_ServesWithTheConfiguredCertificateAndWithoutOneExitsTwo()
    {
        var certificate = ServerCertificate.WriteSelfSigned(_work.Path, "CN=127.0.0.1");
        var url = $"https://127.0.0.1:{FreePort.Next()}";

        var (refusedExit, refusedOutput) = await TradeStoreProcess.RunAsync(["serve", "--data", _work.File("refused"), "--urls", url], _work.Path);

        await using var child = TradeStoreProcess.Start(["serve", "--data", _work.File("data"), "--urls", url], _work.Path, certificate.AsKestrelDefault());
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Thumbprint == certificate.Thumbprint };
        using var http = new HttpClient(handler);
        HttpStatusCode? live = null;
        for (var deadline = DateTime.UtcNow.AddSeconds(60); live is null && !child.HasExited && DateTime.UtcNow < deadline;)
        {
            try
            {
                using var answer = await http.GetAsync(new Uri($"{url}/health/live"), TestContext.Current.CancellationToken);
                live = answer.StatusCode;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(200, TestContext.Current.CancellationToken);
            }
        }

        Assert.True(refusedExit == 2, refusedOutput);
        Assert.Contains($"tradestore: configuration error: Server:Urls: '{url}' needs a server certificate: set Kestrel:Certificates:Default:Path", refusedOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", refusedOutput, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_work.File("refused")), "nothing was started");
        Assert.True(live == HttpStatusCode.OK, child.Output);
    }

    [Fact]
    public async Task Serve_MappedIpv4Address_ExitsTwoNamingIt()
    {
        var port = FreePort.Next();

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["serve", "--data", _work.Path, "--urls", $"http://[::ffff:127.0.0.1]:{port}"], _work.Path,
            timeout: TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Contains("::ffff:127.0.0.1", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_KestrelEndpointOnAllInterfacesWithoutKeys_ExitsTwoNamingIt()
    {
        var port = FreePort.Next();

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["serve", "--data", _work.Path, "--urls", $"http://127.0.0.1:{FreePort.Next()}"], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__KESTREL__ENDPOINTS__A__URL"] = $"http://0.0.0.0:{port}" });

        Assert.Equal(2, exitCode);
        Assert.Contains($"0.0.0.0:{port}", output, StringComparison.Ordinal);
    }
}
