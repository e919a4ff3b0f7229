using System.Diagnostics;
using System.Net.Http.Json;
using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// An etcd of the test's own (Debian's <c>etcd</c> binary, one member on free loopback ports), for a test that must stop it,
/// or start it over empty on the same address: the shared test etcd is never touched.
/// </summary>
internal sealed class EtcdProcess : IAsyncDisposable
{
    private readonly TempDirectory _directory = new("etcd");
    private readonly int _clientPort = FreePort.Next();
    private readonly int _peerPort = FreePort.Next();
    private Process? _process;
    private int _generation;

    public string Url => $"http://127.0.0.1:{_clientPort}";

    /// <summary>Starts etcd on a new, empty data directory (the first start, or an etcd started over empty on the same address) and waits until it answers.</summary>
    public async Task StartEmptyAsync()
    {
        var peer = $"http://127.0.0.1:{_peerPort}";
        _process = QuietProcess.Start("etcd",
        [
            "--name", "e1", "--data-dir", Path.Combine(_directory.Path, $"data{++_generation}"), "--listen-client-urls", Url, "--advertise-client-urls", Url,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", $"e1={peer}",
        ]);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.MatchAsync(async () =>
        {
            try
            {
                using var answer = await http.GetAsync($"{Url}/health", TestContext.Current.CancellationToken);
                return answer.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, up => up, TimeSpan.FromSeconds(60), $"etcd answers at {Url}");
    }

    /// <summary>Writes one key <paramref name="count"/> times (through etcd's JSON gateway): the revision grows by as much.</summary>
    public async Task AdvanceRevisionAsync(int count)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var put = new { key = Convert.ToBase64String("revision-filler"u8.ToArray()), value = Convert.ToBase64String("x"u8.ToArray()) };
        for (var i = 0; i < count; i++)
        {
            using var answer = await http.PostAsJsonAsync($"{Url}/v3/kv/put", put, TestContext.Current.CancellationToken);
            answer.EnsureSuccessStatusCode();
        }
    }

    /// <summary>Stops etcd (SIGKILL) and waits until it is gone; its data directory stays.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } running)
        {
            running.Kill();
            await running.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _directory.Dispose();
    }
}
