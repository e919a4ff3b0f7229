using System.Net;
using System.Net.Sockets;
using TradeStore.Server.Configuration;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// From the security probe of session 26: Kestrel takes any number of connections by default, and a connection needs no
/// key, so a client that opened 19,990 connections (each sending half a request) to a server allowed 20,000 open files
/// took every descriptor, and the .NET runtime aborted the process ("Internal CLR error"). The real <c>serve</c>, run by
/// <c>prlimit</c> with a small open-file limit, keeps connections below it (<see cref="ConnectionLimit"/>). Under 512
/// files it also aborted the process (session 37, "Out of memory.", exit 134) until the default stopped giving half of a
/// small limit to connections: an idle server holds 275 descriptors itself.
/// </summary>
public sealed class ConnectionLimitTests : IDisposable
{
    private static readonly byte[] HalfARequest = "GET /health/live HTTP/1.1\r\nHost: x\r\n"u8.ToArray();
    private readonly TempDirectory _work = new("connections");

    public void Dispose() => _work.Dispose();

    [Theory]
    [InlineData(2048)]
    [InlineData(512)]
    public async Task Serve_MoreConnectionsThanItsOpenFileLimit_ClosesThosePastItsLimitAndGoesOn(int openFiles)
    {
        Assert.SkipUnless(File.Exists("/usr/bin/prlimit"), "needs prlimit (util-linux)");
        var port = FreePort.Next();
        var url = $"http://127.0.0.1:{port}";
        await using var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path,
            launcher: ["/usr/bin/prlimit", $"--nofile={openFiles}:{openFiles}"]);
        await child.WaitUntilAnsweringAsync($"{url}/health/live", TimeSpan.FromSeconds(60));
        var limit = ConnectionLimit.For(openFiles);
        await child.WaitForOutputAsync($"Connections: at most {limit} at once", TimeSpan.FromSeconds(30));
        if (openFiles < ConnectionLimit.AdvisedOpenFiles)
        {
            await child.WaitForOutputAsync($"The process may open only {openFiles} files", TimeSpan.FromSeconds(30));
        }

        var sockets = new List<Socket>();
        try
        {
            var failuresInARow = 0;
            for (var i = 0; i < openFiles + 100 && failuresInARow < 20; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(socket);
                failuresInARow = await TryHalfARequestAsync(socket, port) ? 0 : failuresInARow + 1;
            }

            // Without a limit the server accepted until its descriptors ran out (then the backlog filled and connecting
            // failed), and held them while the client kept them open; with it, it closes every connection past the limit
            // and keeps its reserve. A connection past the limit is accepted before it is closed, so right after a burst on
            // a starved machine the server may still hold some of them (461 of 512 once in CI at load ~20): wait for the
            // closing to catch up, as the old server never would.
            Assert.False(child.HasExited, $"the server died with {sockets.Count} connections open:\n{Tail(child.Output)}");
            var bound = openFiles - Math.Min(512, openFiles / 8);
            var descriptors = await DescriptorsSettledAtMostAsync(child.Id, bound, TimeSpan.FromSeconds(15));
            Assert.True(descriptors <= bound, $"the server holds {descriptors} of its {openFiles} descriptors 15 s after {sockets.Count} connections were opened (at most {bound} expected)");
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }

        await child.WaitUntilAnsweringAsync($"{url}/health/live", TimeSpan.FromSeconds(60));
        Assert.False(child.HasExited, Tail(child.Output));
        // Counted, not logged one warning each (a flood at the limit was a flood of log lines).
        using var http = new HttpClient();
        var metrics = PrometheusText.Parse(await http.GetStringAsync($"{url}/metrics", TestContext.Current.CancellationToken));
        Assert.True(Assert.Single(metrics["kestrel_rejected_connections_total"].Samples).Value >= 1, Tail(child.Output));
        Assert.DoesNotContain("the maximum number of concurrent connections has been reached", child.Output, StringComparison.Ordinal);
    }

    /// <summary>The number of descriptors the process holds once it is at most <paramref name="bound"/>, or the last count when <paramref name="within"/> runs out.</summary>
    private static async Task<int> DescriptorsSettledAtMostAsync(int pid, int bound, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var descriptors = Directory.GetFiles($"/proc/{pid}/fd").Length;
            if (descriptors <= bound || DateTime.UtcNow >= deadline)
            {
                return descriptors;
            }

            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Connects and sends half a request; <see langword="false"/> when the connection could not be made or was closed at once.</summary>
    private static async Task<bool> TryHalfARequestAsync(Socket socket, int port)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            await socket.SendAsync(HalfARequest, SocketFlags.None, timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private static string Tail(string output) => output.Length > 4000 ? output[^4000..] : output;
}
