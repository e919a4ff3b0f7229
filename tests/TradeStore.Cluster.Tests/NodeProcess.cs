using System.Text.Json;
using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>A real <c>tradestore serve</c> process that is a member of a cluster on the test etcd.</summary>
internal sealed class NodeProcess : IAsyncDisposable
{
    private readonly TempDirectory _directory;
    private readonly string _dataPath;

    private NodeProcess(string name, string url, TempDirectory directory, string dataPath, TradeStoreProcess process, Dictionary<string, string> environment)
    {
        Name = name;
        Url = url;
        _directory = directory;
        _dataPath = dataPath;
        Process = process;
        Environment = environment;
    }

    public string Name { get; }

    public string Url { get; }

    public TradeStoreProcess Process { get; private set; }

    /// <summary>The cluster configuration of this node (also what <c>tradestore cluster status</c> needs).</summary>
    public Dictionary<string, string> Environment { get; }

    public string DataDirectory => _dataPath;

    /// <summary>
    /// Starts a node on a new data directory and address (<paramref name="url"/>, else a free port);
    /// <paramref name="waitUntilAnswering"/> waits for <c>/health/live</c>; <paramref name="dataDirectory"/> puts the data
    /// elsewhere than the node's new directory (a small disk).
    /// </summary>
    public static async Task<NodeProcess> StartAsync(string name, string keyPrefix, IReadOnlyDictionary<string, string>? settings = null, bool waitUntilAnswering = true,
        string? url = null, string? dataDirectory = null)
    {
        url ??= $"http://127.0.0.1:{FreePort.Next()}";
        var directory = new TempDirectory($"cluster-{name}");
        var environment = new Dictionary<string, string>
        {
            ["TRADESTORE__CLUSTER__ETCD"] = TestServers.Etcd,
            ["TRADESTORE__CLUSTER__NODE"] = name,
            ["TRADESTORE__CLUSTER__ADVERTISEURL"] = url,
            ["TRADESTORE__CLUSTER__KEYPREFIX"] = keyPrefix,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var data = dataDirectory ?? directory.Path;
        var process = TradeStoreProcess.Start(["serve", "--data", data, "--urls", url], directory.Path, environment);
        if (waitUntilAnswering)
        {
            await process.WaitUntilAnsweringAsync($"{url}/health/live", TimeSpan.FromSeconds(60));
        }

        return new NodeProcess(name, url, directory, data, process, environment);
    }

    /// <summary>Kills the process with SIGKILL (unless it exited) and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        if (!Process.HasExited)
        {
            Process.Signal(9);
        }

        await Process.WaitForExitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>
    /// Starts the node again on the same address after its process exited: on the same data directory, or with
    /// <paramref name="emptyDirectory"/> on an emptied one (a replaced disk).
    /// </summary>
    public async Task StartAgainAsync(bool emptyDirectory = false, bool waitUntilAnswering = true)
    {
        await Process.DisposeAsync();
        if (emptyDirectory)
        {
            foreach (var entry in new DirectoryInfo(_dataPath).EnumerateFileSystemInfos())
            {
                if (entry is DirectoryInfo folder)
                {
                    folder.Delete(recursive: true);
                }
                else
                {
                    entry.Delete();
                }
            }
        }

        Process = TradeStoreProcess.Start(["serve", "--data", _dataPath, "--urls", Url], _directory.Path, Environment);
        if (waitUntilAnswering)
        {
            await Process.WaitUntilAnsweringAsync($"{Url}/health/live", TimeSpan.FromSeconds(60));
        }
    }

    /// <summary>Stops the process with <paramref name="signal"/> (SIGTERM; 9 kills it) unless it exited, and starts it again on the same data directory and address.</summary>
    public async Task RestartAsync(int signal = 15, bool waitUntilAnswering = true)
    {
        if (!Process.HasExited)
        {
            Process.Signal(signal);
        }

        await Process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        await Process.DisposeAsync();
        Process = TradeStoreProcess.Start(["serve", "--data", _dataPath, "--urls", Url], _directory.Path, Environment);
        if (waitUntilAnswering)
        {
            await Process.WaitUntilAnsweringAsync($"{Url}/health/live", TimeSpan.FromSeconds(60));
        }
    }

    /// <summary>The 503 of a <c>GET /v1/cluster</c> whose etcd read ran past the node's 2 s.</summary>
    private static readonly string[] EtcdLate = ["urn:tradestore:problem:etcd-unavailable"];

    /// <summary>
    /// <c>GET /v1/cluster</c> as this node answers it; asked again for up to a minute while it answers <c>503
    /// etcd-unavailable</c>: the node gives etcd 2 s to answer, which a starved machine's etcd can miss, and every wait on
    /// the cluster's status reads it here, each read a chance to fail the test on one late answer.
    /// </summary>
    public async Task<ClusterStatus> ClusterAsync(HttpClient http)
    {
        HttpResponseMessage response;
        string body;
        try
        {
            (response, body) = await RetryAfter.SendAsync(http, () => new HttpRequestMessage(HttpMethod.Get, $"{Url}/v1/cluster"), EtcdLate, TimeSpan.FromMinutes(1));
        }
        catch (HttpRequestException ex)
        {
            var state = Process.HasExited ? $"it exited with code {Process.ExitCode}" : "it is still running";
            throw new HttpRequestException($"GET /v1/cluster on {Name} ({Url}) failed: {ex.Message}; {state}. Its output:\n{Process.Output}", ex);
        }

        using var answered = response;
        Assert.True(response.IsSuccessStatusCode, $"GET /v1/cluster on {Name}: {(int)response.StatusCode} {body}");
        return JsonSerializer.Deserialize(body, ClusterJson.Default.ClusterStatus)!;
    }

    /// <summary>
    /// 503s a client retries at the same node: no leader yet, or a leader that could not renew its lease in time on a
    /// loaded machine (its term is then held again or passes on; the test wants a node that leads).
    /// </summary>
    private static readonly string[] RetriedProblems = ["urn:tradestore:problem:no-leader", "urn:tradestore:problem:leadership-lost"];

    /// <summary>
    /// <c>POST /v1/trades</c> of <see cref="Trade"/> on this node with an idempotency key, sent again with the same key
    /// while it answers <c>503 no-leader</c> or <c>503 leadership-lost</c>, as a client that honours <c>Retry-After</c>
    /// does, for at most 30 s. On a machine busy with other tests a leader can miss its lease renewals and step down for
    /// a moment (seen in CI at load 21: leadership-lost on the first writes of a fresh leader).
    /// </summary>
    public async Task<HttpResponseMessage> CreateTradeAsync(HttpClient http, string tradeId)
    {
        // The same key on every attempt: a retry after leadership-lost (the write may or may not have survived) is
        // answered from the first attempt when it did, as the problem's detail tells clients to do.
        var (answer, _) = await RetryAfter.SendAsync(http, () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"{Url}/v1/trades") { Content = Trade(tradeId) };
            request.Headers.Add("Idempotency-Key", $"create-{tradeId}");
            return request;
        }, RetriedProblems, TimeSpan.FromSeconds(30));
        return answer;
    }

    private static readonly string[] SeqNotReached = ["urn:tradestore:problem:seq-not-reached"];

    /// <summary>
    /// <c>GET /v1/trades/{id}?minSeq=</c> on this node, sent again while it answers <c>503 seq-not-reached</c>, as a client
    /// honouring <c>Retry-After</c> does, for up to a minute: a follower holds a synchronously acknowledged write once it
    /// fsynced it, but applies it a moment later, and on a loaded machine that moment can outlast one read's wait
    /// (<c>Cluster:ReadWaitTimeout</c>, 1 s). Any other answer is returned at once.
    /// </summary>
    public async Task<HttpResponseMessage> ReadTradeAsync(HttpClient http, string tradeId, string minSeq)
    {
        var (answer, _) = await RetryAfter.SendAsync(http, () => new HttpRequestMessage(HttpMethod.Get, $"{Url}/v1/trades/{tradeId}?minSeq={minSeq}"),
            SeqNotReached, TimeSpan.FromMinutes(1));
        return answer;
    }

    /// <summary>Every journal event of the node's DuckDB as (seq, tradeId, version, type), once it holds <paramref name="minSeq"/> (<see cref="SqlProbe"/>).</summary>
    public Task<string> JournalAsync(HttpClient http, long minSeq) =>
        SqlProbe.QueryAsync(http, $"{Url}/v1/query?minSeq={minSeq}", "SELECT seq, trade_id, version, event_type FROM trade_events ORDER BY seq");

    public static StringContent Trade(string tradeId) => new(JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["tradeId"] = tradeId,
        ["account"] = "ACC-1",
        ["symbol"] = "AAPL",
        ["side"] = "buy",
        ["quantity"] = 100,
        ["price"] = 187.25m,
        ["venue"] = "XNAS",
        ["executedAt"] = "2026-11-30T09:00:00Z",
    }), System.Text.Encoding.UTF8, "application/json");

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        _directory.Dispose();
    }
}
