using System.Diagnostics;
using TradeStore.TestSupport;

namespace TradeStore.ClickHouse.Tests.Support;

/// <summary>
/// A clickhouse-server process of a test's own (the overrides of scripts/test.sh), so a test may kill and
/// restart it without disturbing the shared server. Same ports and data directory across restarts.
/// </summary>
internal sealed class PrivateClickHouseServer : IAsyncDisposable
{
    private readonly TempDirectory _directory = new("clickhouse");
    private readonly int _tcpPort = FreePort.Next();
    private readonly int _interserverPort = FreePort.Next();
    private Process? _process;

    private PrivateClickHouseServer()
    {
        HttpPort = FreePort.Next();
    }

    public int HttpPort { get; }

    public string Url => $"http://127.0.0.1:{HttpPort}";

    public static async Task<PrivateClickHouseServer> StartAsync()
    {
        _ = TestServers.ClickHouse; // skips (or fails under CI) where the test script found no ClickHouse
        var server = new PrivateClickHouseServer();
        await server.RestartAsync();
        return server;
    }

    /// <summary>Starts the process (again) and waits until it answers <c>SELECT 1</c>.</summary>
    public async Task RestartAsync()
    {
        foreach (var sub in new[] { "data", "tmp", "user_files", "format_schemas" })
        {
            Directory.CreateDirectory(System.IO.Path.Combine(_directory.Path, sub));
        }

        _process = QuietProcess.Start(Binary(),
        [
            "--config=/etc/clickhouse-server/config.xml", "--",
            $"--path={_directory.Path}/data/", $"--tmp_path={_directory.Path}/tmp/", $"--user_files_path={_directory.Path}/user_files/",
            $"--format_schema_path={_directory.Path}/format_schemas/", $"--http_port={HttpPort}", $"--tcp_port={_tcpPort}",
            $"--interserver_http_port={_interserverPort}", "--listen_host=127.0.0.1",
            $"--logger.log={_directory.Path}/log", $"--logger.errorlog={_directory.Path}/err",
        ]);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Eventually.TrueAsync(async () =>
        {
            if (_process.HasExited)
            {
                Assert.Fail($"clickhouse-server exited with {_process.ExitCode}: {ErrorLog()}");
            }

            try
            {
                return (await http.GetStringAsync($"{Url}/?query=SELECT%201")).Trim() == "1";
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), () => $"clickhouse-server on {Url} did not answer: {ErrorLog()}");
    }

    /// <summary>SIGKILL: the server dies mid-request, as in a crash or an OOM kill.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync(CancellationToken.None);
        }

        _process?.Dispose();
        _directory.Dispose();
    }

    private static string Binary() =>
        new[] { "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server" }.FirstOrDefault(File.Exists) ?? "clickhouse-server";

    private string ErrorLog()
    {
        var path = System.IO.Path.Combine(_directory.Path, "err");
        return File.Exists(path) ? string.Join('\n', File.ReadLines(path).TakeLast(10)) : "(no error log)";
    }
}
