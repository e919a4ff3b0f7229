using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using TradeStore.Cluster;

namespace TradeStore.Bench;

/// <summary>What <c>tradestore-bench failover</c> runs.</summary>
public sealed record FailoverBenchmarkOptions(string Etcd, int Nodes, int Kills, TimeSpan LeaseTtl);

/// <summary>
/// Failover time of a cluster of real <c>tradestore serve</c> processes on an etcd: the leader is killed with
/// SIGKILL, and the time until a write (sent to a surviving node, following the 307 to whoever leads) is
/// acknowledged with 201 is one sample. The killed node is restarted on its port and data directory before the
/// next kill. Each node has a fresh temporary data directory; the etcd keys live under a throw-away prefix.
/// </summary>
public static class FailoverBenchmark
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(60);

    public static async Task<IReadOnlyList<TimeSpan>> RunAsync(FailoverBenchmarkOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        var root = Directory.CreateTempSubdirectory("tradestore-bench-failover-");
        var prefix = $"/bench-failover-{Guid.NewGuid():N}/";
        var nodes = Enumerable.Range(1, options.Nodes).Select(i => new Node($"node{i}", FreePort(), Path.Combine(root.FullName, $"node{i}"))).ToList();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var samples = new List<TimeSpan>();
        try
        {
            output.WriteLine($"failover: {options.Nodes} nodes, Cluster:LeaseTtl {options.LeaseTtl.TotalSeconds:0} s, etcd {options.Etcd}, {options.Kills} kills (SIGKILL of the leader)");
            foreach (var node in nodes)
            {
                node.Start(options, prefix);
            }

            foreach (var node in nodes)
            {
                await node.WaitLiveAsync(http, cancellationToken);
            }

            var written = 0;
            for (var kill = 1; kill <= options.Kills; kill++)
            {
                var status = await WaitAsync(() => StatusAsync(http, nodes, cancellationToken), s => s?.Leader is not null && s.Nodes.Count == nodes.Count,
                    "a leader and every node registered", cancellationToken);
                var leader = nodes.Single(n => n.Name == status!.Leader);
                var survivor = nodes.First(n => n != leader);

                var stopwatch = Stopwatch.StartNew();
                leader.Kill();
                while (true)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (stopwatch.Elapsed > StepTimeout)
                    {
                        throw new TimeoutException($"No node acknowledged a write within {StepTimeout} of kill {kill}.");
                    }

                    if (await TryWriteAsync(http, survivor, $"F-{kill}-{++written}", cancellationToken))
                    {
                        break;
                    }

                    await Task.Delay(10, cancellationToken);
                }

                var elapsed = stopwatch.Elapsed;
                samples.Add(elapsed);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  kill {kill,2}: {leader.Name} (term {status!.Term}) killed; a write acknowledged after {elapsed.TotalMilliseconds,7:0} ms"));
                leader.Start(options, prefix);
                await leader.WaitLiveAsync(http, cancellationToken);
            }

            var sorted = samples.OrderBy(s => s).ToList();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"failover (kill -9 of the leader -> a write acknowledged): p50 {Percentile(sorted, 50).TotalSeconds:0.000} s, p99 {Percentile(sorted, 99).TotalSeconds:0.000} s, max {sorted[^1].TotalSeconds:0.000} s over {sorted.Count} kills"));
            return samples;
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.StopAsync();
            }

            try
            {
                root.Delete(recursive: true);
            }
            catch (IOException)
            {
                // a child may still be closing a file
            }
        }
    }

    /// <summary>Nearest-rank percentile.</summary>
    private static TimeSpan Percentile(List<TimeSpan> sorted, int percent) =>
        sorted[Math.Clamp((int)Math.Ceiling(percent / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static async Task<bool> TryWriteAsync(HttpClient http, Node node, string tradeId, CancellationToken cancellationToken)
    {
        var body = new Dictionary<string, object>
        {
            ["tradeId"] = tradeId, ["account"] = "BENCH", ["symbol"] = "FAIL", ["side"] = "buy",
            ["quantity"] = 1, ["price"] = 1.5m, ["executedAt"] = "2026-11-30T00:00:00Z",
        };
        try
        {
            // HttpClient follows the 307 to the leader with the same method and body.
            using var response = await http.PostAsJsonAsync($"{node.Url}/v1/trades", body, cancellationToken);
            return response.StatusCode == HttpStatusCode.Created;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false; // redirected to the dead leader, or the node is busy
        }
    }

    private static async Task<ClusterStatus?> StatusAsync(HttpClient http, IEnumerable<Node> nodes, CancellationToken cancellationToken)
    {
        foreach (var node in nodes.Where(n => n.IsRunning))
        {
            try
            {
                return await http.GetFromJsonAsync($"{node.Url}/v1/cluster", ClusterJson.Default.ClusterStatus, cancellationToken);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // try the next node
            }
        }

        return null;
    }

    private static async Task<T> WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (stopwatch.Elapsed > StepTimeout)
            {
                throw new TimeoutException($"Not within {StepTimeout}: {what}.");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>One node: a fixed port and data directory, so a restart rejoins as the same member.</summary>
    private sealed class Node(string name, int port, string directory)
    {
        private Process? _process;

        public string Name { get; } = name;

        public string Url { get; } = $"http://127.0.0.1:{port}";

        public bool IsRunning => _process is { HasExited: false };

        public void Start(FailoverBenchmarkOptions options, string prefix)
        {
            Directory.CreateDirectory(directory);
            var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "tradestore.dll"));
            foreach (var argument in new[] { "serve", "--data", directory, "--urls", Url })
            {
                start.ArgumentList.Add(argument);
            }

            start.Environment["TRADESTORE__CLUSTER__ETCD"] = options.Etcd;
            start.Environment["TRADESTORE__CLUSTER__NODE"] = Name;
            start.Environment["TRADESTORE__CLUSTER__ADVERTISEURL"] = Url;
            start.Environment["TRADESTORE__CLUSTER__KEYPREFIX"] = prefix;
            start.Environment["TRADESTORE__CLUSTER__LEASETTL"] = options.LeaseTtl.ToString("c", CultureInfo.InvariantCulture);
            _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {Name}.");
            _process.OutputDataReceived += (_, _) => { };
            _process.ErrorDataReceived += (_, _) => { };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public async Task WaitLiveAsync(HttpClient http, CancellationToken cancellationToken) =>
            await WaitAsync(async () =>
            {
                if (_process is { HasExited: true })
                {
                    throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode}.");
                }

                try
                {
                    using var response = await http.GetAsync($"{Url}/health/live", cancellationToken);
                    return response.IsSuccessStatusCode;
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    return false;
                }
            }, live => live, $"{Name} answers", cancellationToken);

        public void Kill()
        {
            _process!.Kill();
            _process.WaitForExit();
        }

        public async Task StopAsync()
        {
            if (_process is { HasExited: false })
            {
                using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
                {
                    await term.WaitForExitAsync();
                }

                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                try
                {
                    await _process.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill();
                }
            }

            _process?.Dispose();
        }
    }
}
