using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using TradeStore.Cluster;
using TradeStore.Core.Threading;

namespace TradeStore.Bench;

/// <summary>What <c>tradestore-bench failover</c> runs.</summary>
/// <param name="SyncReplicas"><c>Cluster:SyncReplicas</c> of the nodes.</param>
/// <param name="LoadConnections">Connections writing continuously through the kills (0: none); every acknowledged trade is read back at the end.</param>
/// <param name="ThroughputSeconds">Seconds of each write-throughput measurement (1 and 32 connections, standalone and on the cluster's leader); 0 skips them.</param>
/// <param name="ThroughputWarmupSeconds">Seconds the fresh standalone node and the fresh cluster are written to, unmeasured, before their throughput runs.</param>
public sealed record FailoverBenchmarkOptions(string Etcd, int Nodes, int Kills, TimeSpan LeaseTtl, int SyncReplicas = 0, int LoadConnections = 0, int ThroughputSeconds = 0,
    int ThroughputWarmupSeconds = 30);

/// <summary>
/// Failover time of a cluster of real <c>tradestore serve</c> processes on an etcd: the leader is killed with
/// SIGKILL, and the time until a write (sent to a surviving node, following the 307 to whoever leads) is
/// acknowledged with 201 is one sample. The killed node is restarted on its port and data directory before the
/// next kill. Each node has a fresh temporary data directory; the etcd keys live under a throw-away prefix.
/// With load connections, writes go on through every kill (to any running node, following its 307), and at the end
/// every trade that was acknowledged is read back from the leader: the lost ones are counted (the target with
/// <c>Cluster:SyncReplicas=1</c> is zero). With throughput seconds, the write rate of 1 and 32 connections is measured
/// on a standalone node and on the cluster's leader in the same run (issue #14 targets: the cluster at ≥ 50%).
/// </summary>
public static class FailoverBenchmark
{
    /// <summary>
    /// How long one step (a node answering, a leader elected and every node caught up, a write after a kill) may take.
    /// Generous by design: in a clean-clone CI at load average 17 the wait for a caught-up cluster ran out at 60 s.
    /// </summary>
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(120);

    /// <summary>A follower at most this many events behind (in the registry, refreshed each second) counts as caught up before a kill.</summary>
    private const long CaughtUp = 500;

    public static async Task<IReadOnlyList<TimeSpan>> RunAsync(FailoverBenchmarkOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        await RequireEtcdAsync(options.Etcd, cancellationToken);
        var root = Directory.CreateTempSubdirectory("tradestore-bench-failover-");
        var prefix = $"/bench-failover-{Guid.NewGuid():N}/";
        var nodes = Enumerable.Range(1, options.Nodes).Select(i => new Node($"node{i}", FreePort(), Path.Combine(root.FullName, $"node{i}"))).ToList();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var samples = new List<TimeSpan>();
        try
        {
            output.WriteLine($"failover: {options.Nodes} nodes, Cluster:LeaseTtl {options.LeaseTtl.TotalSeconds:0} s, Cluster:SyncReplicas {options.SyncReplicas}, etcd {options.Etcd} (keys under {prefix}, deleted at the end), " +
                $"{options.Kills} kills (SIGKILL of the leader), {options.LoadConnections} load connections; load average {LoadAverage()}");
            if (options.ThroughputSeconds > 0)
            {
                await ThroughputAsync(options, root.FullName, nodes, prefix, output, cancellationToken);
            }

            foreach (var node in nodes)
            {
                node.Start(options, prefix);
            }

            foreach (var node in nodes)
            {
                await node.WaitLiveAsync(http, cancellationToken);
            }

            using var loadStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var load = new WriteLoad(nodes);
            var loaders = Enumerable.Range(0, options.LoadConnections).Select(i => load.RunAsync(i, loadStop.Token)).ToArray();
            var written = 0;
            for (var kill = 1; kill <= options.Kills; kill++)
            {
                // Every node running (a restarted old leader that stopped to cut its tail is started again) and caught up.
                var status = await WaitAsync(async () =>
                    {
                        foreach (var node in nodes)
                        {
                            node.RestartIfCut(options, prefix);
                        }

                        return await StatusAsync(http, nodes, cancellationToken);
                    }, s => s?.Leader is not null && s.Nodes.Count(n => n.IsLive) == nodes.Count && nodes.All(n => n.IsRunning) && s.Nodes.All(n => n.LagSeq is <= CaughtUp),
                    "a leader and every node registered and caught up", cancellationToken, s => Describe(s, nodes));
                var leader = nodes.Single(n => n.Name == status!.Leader);
                var survivor = nodes.First(n => n != leader);

                var stopwatch = Stopwatch.StartNew();
                await leader.KillAsync();
                while (true)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (stopwatch.Elapsed > StepTimeout)
                    {
                        throw new TimeoutException($"No node acknowledged a write within {StepTimeout} of kill {kill}.");
                    }

                    // As the guard would: a survivor that stopped to cut a tail it held (exit code 6) is started again.
                    foreach (var node in nodes.Where(n => n != leader))
                    {
                        node.RestartIfCut(options, prefix);
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
                await leader.WaitLiveAsync(http, cancellationToken, options, prefix);
            }

            await loadStop.CancelAsync();
            await Task.WhenAll(loaders);
            var sorted = samples.OrderBy(s => s).ToList();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"failover (kill -9 of the leader -> a write acknowledged): p50 {Percentile(sorted, 50).TotalSeconds:0.000} s, p99 {Percentile(sorted, 99).TotalSeconds:0.000} s, max {sorted[^1].TotalSeconds:0.000} s over {sorted.Count} kills"));
            if (options.LoadConnections > 0)
            {
                await ReadBackAsync(http, nodes, load, options, prefix, output, cancellationToken);
            }

            output.WriteLine($"load average at the end: {LoadAverage()}");
            return samples;
        }
        catch (TimeoutException)
        {
            WriteLogTails(output, nodes);
            throw;
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.StopAsync();
            }

            // The members, history and sync records outlive the nodes' leases: without this every run left them in etcd.
            if (await EtcdPrefix.DeleteAsync(options.Etcd, prefix) is { Failure: { } failure })
            {
                output.WriteLine($"etcd: the keys under {prefix} could not be deleted ({failure}); delete them by hand");
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

    /// <summary>
    /// Refuses to start nodes on an etcd where nothing answers: they would never elect a leader, and the run waited out
    /// its step timeout to say "Not within …: a leader and every node registered" without naming etcd.
    /// Any endpoint answering etcd's <c>/version</c> will do.
    /// </summary>
    private static async Task RequireEtcdAsync(string endpoints, CancellationToken cancellationToken)
    {
        using var http = new HttpClient();
        var reasons = new List<string>();
        foreach (var endpoint in endpoints.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(endpoint.TrimEnd('/') + "/version", UriKind.Absolute, out var version))
            {
                reasons.Add($"{endpoint}: not an absolute URL");
                continue;
            }

            if (await Reachability.WhyNotAsync(http, version, TimeSpan.FromSeconds(5), requireSuccess: true, cancellationToken) is not { } reason)
            {
                return;
            }

            reasons.Add($"{endpoint}: {reason}");
        }

        throw new TradeStore.Cli.CommandFailedException(
            $"etcd does not answer at {endpoints} ({string.Join("; ", reasons)}): start etcd first, or give its client endpoints with --etcd.");
    }

    /// <summary>Reads every acknowledged trade back from the leader (once every node holds the leader's last seq) and prints how many are missing.</summary>
    private static async Task ReadBackAsync(HttpClient http, List<Node> nodes, WriteLoad load, FailoverBenchmarkOptions options, string prefix, TextWriter output, CancellationToken cancellationToken)
    {
        var status = await WaitAsync(async () =>
            {
                foreach (var node in nodes)
                {
                    node.RestartIfCut(options, prefix);
                }

                return await StatusAsync(http, nodes, cancellationToken);
            }, s => s?.Leader is not null && s.Nodes.Count(n => n.IsLive) == nodes.Count, "a leader and every node registered", cancellationToken, s => Describe(s, nodes));
        var leader = nodes.Single(n => n.Name == status!.Leader);
        var lost = new List<string>();
        foreach (var id in load.Acknowledged)
        {
            using var response = await http.GetAsync($"{leader.Url}/v1/trades/{id}", cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                lost.Add(id);
            }
        }

        var examples = lost.Count > 0 ? ": " + string.Join(", ", lost.Take(10)) : string.Empty;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"read-back on the leader {leader.Name}: {load.Acknowledged.Count} writes acknowledged under load through {options.Kills} kills ({load.Refused} answered 503 or failed), lost {lost.Count}{examples}"));
    }

    /// <summary>
    /// Write throughput, 1 and 32 connections, on a standalone node and then on the leader of a cluster of the benchmark's
    /// nodes (with its SyncReplicas), each for the given seconds; fresh data directories, request rate limit lifted on both.
    /// </summary>
    private static async Task ThroughputAsync(FailoverBenchmarkOptions options, string root, List<Node> nodes, string prefix, TextWriter output, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { Timeout = TimeSpan.FromSeconds(10) };
        var standalone = new Node("standalone", FreePort(), Path.Combine(root, "standalone"));
        standalone.Start(options, prefix, clustered: false);
        double[] alone;
        double aloneCommitMs;
        try
        {
            await standalone.WaitLiveAsync(http, cancellationToken);
            await WarmUpAsync(http, standalone, options.ThroughputWarmupSeconds, "AW", cancellationToken);
            var before = await HistogramsAsync(http, standalone, cancellationToken);
            var one = await RateAsync(http, standalone, 1, options.ThroughputSeconds, "A1", cancellationToken);
            aloneCommitMs = MeanMs(before, await HistogramsAsync(http, standalone, cancellationToken), CommitDuration);
            alone = [one, await RateAsync(http, standalone, 32, options.ThroughputSeconds, "A32", cancellationToken)];
        }
        finally
        {
            await standalone.StopAsync();
        }

        var cluster = nodes.Select(n => new Node(n.Name + "-t", FreePort(), Path.Combine(root, n.Name + "-t"))).ToList();
        var clusterPrefix = prefix + "throughput/";
        double[] clustered;
        (double LeaderCommitMs, double ReplicationWaitMs, double FollowerDurableMs) split;
        try
        {
            foreach (var node in cluster)
            {
                node.Start(options, clusterPrefix);
            }

            foreach (var node in cluster)
            {
                await node.WaitLiveAsync(http, cancellationToken);
            }

            var status = await WaitAsync(() => StatusAsync(http, cluster, cancellationToken), s => s?.Leader is not null && s.Nodes.Count(n => n.IsLive) == cluster.Count,
                "a leader and every node registered", cancellationToken, s => Describe(s, cluster));
            var leader = cluster.Single(n => n.Name == status!.Leader);
            await WaitAsync(() => TryWriteAsync(http, leader, "W-warm", cancellationToken), ok => ok, "the leader acknowledges a write", cancellationToken);
            await WarmUpAsync(http, leader, options.ThroughputWarmupSeconds, "CW", cancellationToken);
            var follower = cluster.First(n => n != leader);
            var (leaderBefore, followerBefore) = (await HistogramsAsync(http, leader, cancellationToken), await HistogramsAsync(http, follower, cancellationToken));
            var one = await RateAsync(http, leader, 1, options.ThroughputSeconds, "C1", cancellationToken);
            var (leaderAfter, followerAfter) = (await HistogramsAsync(http, leader, cancellationToken), await HistogramsAsync(http, follower, cancellationToken));
            split = (MeanMs(leaderBefore, leaderAfter, CommitDuration), MeanMs(leaderBefore, leaderAfter, ReplicationWait), MeanMs(followerBefore, followerAfter, FollowerDurable));
            clustered = [one, await RateAsync(http, leader, 32, options.ThroughputSeconds, "C32", cancellationToken)];
            await FollowerReadLagAsync(http, leader, cluster.First(n => n != leader), options.ThroughputSeconds, output, cancellationToken);
        }
        catch (TimeoutException)
        {
            WriteLogTails(output, cluster);
            throw;
        }
        finally
        {
            foreach (var node in cluster)
            {
                await node.StopAsync();
            }
        }

        foreach (var (connections, i) in new[] { (1, 0), (32, 1) })
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"write throughput, {connections,2} connection(s): standalone {alone[i],8:0} /s, cluster leader ({options.Nodes} nodes, SyncReplicas {options.SyncReplicas}) {clustered[i],8:0} /s = {clustered[i] / alone[i]:0.00}x"));
        }

        if (options.SyncReplicas > 0)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"where 1 connection's time went (means from /metrics): the leader's append + fsync {split.LeaderCommitMs:0.00} ms (standalone {aloneCommitMs:0.00} ms), " +
                $"then its wait for the sync followers {split.ReplicationWaitMs:0.00} ms; a follower's chunk to durable {split.FollowerDurableMs:0.00} ms"));
        }
    }

    private const string CommitDuration = "tradestore_write_commit_duration_seconds";
    private const string ReplicationWait = "tradestore_replication_wait_duration_seconds";
    private const string FollowerDurable = "tradestore_replication_follower_durable_duration_seconds";

    /// <summary>The <c>_sum</c> and <c>_count</c> series of the histograms a synchronous write's time is split into.</summary>
    private static readonly string[] HistogramSeries = [.. new[] { CommitDuration, ReplicationWait, FollowerDurable }.SelectMany(h => new[] { h + "_sum", h + "_count" })];

    /// <summary>The node's <see cref="HistogramSeries"/> now.</summary>
    private static async Task<Dictionary<string, double>> HistogramsAsync(HttpClient http, Node node, CancellationToken cancellationToken) =>
        HttpBenchmark.ParseGauges(await http.GetStringAsync($"{node.Url}/metrics", cancellationToken), HistogramSeries);

    /// <summary>The mean in milliseconds of what <paramref name="histogram"/> recorded between two readings; NaN when nothing.</summary>
    private static double MeanMs(Dictionary<string, double> before, Dictionary<string, double> after, string histogram)
    {
        var count = after.GetValueOrDefault(histogram + "_count") - before.GetValueOrDefault(histogram + "_count");
        return count > 0 ? (after.GetValueOrDefault(histogram + "_sum") - before.GetValueOrDefault(histogram + "_sum")) / count * 1000 : double.NaN;
    }

    /// <summary>
    /// Follower read lag (issue #14 target: p99 ≤ 50 ms at 1,000 writes/s): writes go to the leader in an open loop at
    /// 1,000/s; as soon as one is acknowledged, the same trade is read on <paramref name="follower"/> with
    /// <c>?minSeq=</c> the answer's <c>TradeStore-Seq</c>, which the follower holds until it has applied that seq. The lag
    /// of one write is the time from its acknowledgement to the follower's 200 (so it includes one read's round trip).
    /// </summary>
    private static async Task FollowerReadLagAsync(HttpClient http, Node leader, Node follower, int seconds, TextWriter output, CancellationToken cancellationToken)
    {
        const int Rate = 1_000;
        var lags = new System.Collections.Concurrent.ConcurrentBag<TimeSpan>();
        var failed = 0;
        var stopwatch = Stopwatch.StartNew();
        var inFlight = new List<Task>();
        for (var i = 0; i < Rate * seconds; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / Rate);
            if (due > stopwatch.Elapsed)
            {
                await Task.Delay(due - stopwatch.Elapsed, cancellationToken);
            }

            var id = $"R-{i}";
            inFlight.Add(Task.Run(async () =>
            {
                var lag = await WriteThenReadOnFollowerAsync(http, leader, follower, id, cancellationToken);
                if (lag is { } value)
                {
                    lags.Add(value);
                }
                else
                {
                    Interlocked.Increment(ref failed);
                }
            }, cancellationToken));
        }

        await Task.WhenAll(inFlight);
        var sorted = lags.OrderBy(l => l).ToList();
        if (sorted.Count == 0)
        {
            output.WriteLine($"follower read lag: no write was read back on {follower.Name} ({failed} failed)");
            return;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"follower read lag at {Rate:N0} writes/s (ack on the leader -> GET ?minSeq= on {follower.Name} answered 200): p50 {Percentile(sorted, 50).TotalMilliseconds:0.00} ms, " +
            $"p90 {Percentile(sorted, 90).TotalMilliseconds:0.00} ms, p99 {Percentile(sorted, 99).TotalMilliseconds:0.00} ms, max {sorted[^1].TotalMilliseconds:0.00} ms over {sorted.Count:N0} writes, {failed} failed"));
    }

    /// <summary>One write on the leader and its read on the follower; the time from the acknowledgement to the read's 200, or null when either failed.</summary>
    private static async Task<TimeSpan?> WriteThenReadOnFollowerAsync(HttpClient http, Node leader, Node follower, string tradeId, CancellationToken cancellationToken)
    {
        try
        {
            using var written = await http.PostAsJsonAsync($"{leader.Url}/v1/trades", TradeBody(tradeId), cancellationToken);
            if (written.StatusCode != HttpStatusCode.Created || !written.Headers.TryGetValues("TradeStore-Seq", out var seqs))
            {
                return null;
            }

            var acknowledged = Stopwatch.GetTimestamp();
            using var read = await http.GetAsync($"{follower.Url}/v1/trades/{tradeId}?minSeq={seqs.First()}", cancellationToken);
            return read.StatusCode == HttpStatusCode.OK ? Stopwatch.GetElapsedTime(acknowledged) : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>
    /// Writes to a fresh node (and through it to its followers) for <paramref name="seconds"/>, unmeasured: half with 1
    /// connection, half with 32. Each node is a new process, and until the JIT has compiled its hot paths the compiler
    /// thread took about a third of the machine's CPU in a profile of the first seconds, three processes' worth on a
    /// cluster against one standalone.
    /// </summary>
    private static async Task WarmUpAsync(HttpClient http, Node node, int seconds, string tag, CancellationToken cancellationToken)
    {
        if (seconds > 0)
        {
            await RateAsync(http, node, 1, (seconds + 1) / 2, tag + "1", cancellationToken);
            await RateAsync(http, node, 32, seconds / 2, tag + "32", cancellationToken);
        }
    }

    /// <summary>Creates trades on <paramref name="node"/> from <paramref name="connections"/> loops for <paramref name="seconds"/>; returns acknowledged writes per second.</summary>
    private static async Task<double> RateAsync(HttpClient http, Node node, int connections, int seconds, string tag, CancellationToken cancellationToken)
    {
        var acknowledged = 0L;
        var stopwatch = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        await Task.WhenAll(Enumerable.Range(0, connections).Select(c => Task.Run(async () =>
        {
            for (var i = 0; stopwatch.Elapsed < until; i++)
            {
                if (await TryWriteAsync(http, node, $"{tag}-{c}-{i}", cancellationToken))
                {
                    Interlocked.Increment(ref acknowledged);
                }
            }
        }, cancellationToken)));
        return acknowledged / stopwatch.Elapsed.TotalSeconds;
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    /// <summary>Writers that go on through the kills: each writes to a running node in turn and remembers what was acknowledged with 201.</summary>
    private sealed class WriteLoad(List<Node> nodes)
    {
        private readonly System.Collections.Concurrent.ConcurrentBag<string> _acknowledged = [];
        private long _refused;

        public IReadOnlyCollection<string> Acknowledged => _acknowledged;

        public long Refused => Interlocked.Read(ref _refused);

        public async Task RunAsync(int connection, CancellationToken cancellationToken)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            for (var i = 0; !cancellationToken.IsCancellationRequested; i++)
            {
                var running = nodes.Where(n => n.IsRunning).ToList();
                if (running.Count == 0)
                {
                    await Task.Delay(10, CancellationToken.None);
                    continue;
                }

                var id = $"L-{connection}-{i}";
                if (await TryWriteAsync(http, running[(connection + i) % running.Count], id, CancellationToken.None))
                {
                    _acknowledged.Add(id);
                }
                else
                {
                    Interlocked.Increment(ref _refused);
                    await Task.Delay(10, CancellationToken.None);
                }
            }
        }
    }

    /// <summary>Nearest-rank percentile.</summary>
    private static TimeSpan Percentile(List<TimeSpan> sorted, int percent) =>
        sorted[Math.Clamp((int)Math.Ceiling(percent / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static async Task<bool> TryWriteAsync(HttpClient http, Node node, string tradeId, CancellationToken cancellationToken)
    {
        try
        {
            // HttpClient follows the 307 to the leader with the same method and body.
            using var response = await http.PostAsJsonAsync($"{node.Url}/v1/trades", TradeBody(tradeId), cancellationToken);
            return response.StatusCode == HttpStatusCode.Created;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false; // redirected to the dead leader, or the node is busy
        }
    }

    /// <summary>The body of a create every write of this benchmark sends.</summary>
    private static Dictionary<string, object> TradeBody(string tradeId) => new()
    {
        ["tradeId"] = tradeId, ["account"] = "BENCH", ["symbol"] = "FAIL", ["side"] = "buy",
        ["quantity"] = 1, ["price"] = 1.5m, ["executedAt"] = "2026-11-30T00:00:00Z",
    };

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

    /// <summary>Reads until <paramref name="done"/>; after <see cref="StepTimeout"/> fails naming <paramref name="what"/> and, given <paramref name="describe"/>, what it saw last.</summary>
    private static async Task<T> WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what, CancellationToken cancellationToken, Func<T, string>? describe = null)
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
                var seen = describe is null ? string.Empty : $" Last seen: {describe(value)}.";
                throw new TimeoutException($"Not within {StepTimeout}: {what}.{seen}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>What a cluster wait saw: the leader, each registered node's role and lag, and which processes run.</summary>
    private static string Describe(ClusterStatus? status, IEnumerable<Node> nodes)
    {
        var processes = string.Join(", ", nodes.Select(n => $"{n.Name} {n.ProcessState}"));
        if (status is null)
        {
            return $"no node answered /v1/cluster; processes: {processes}";
        }

        var registered = string.Join(", ", status.Nodes.Select(n => string.Create(CultureInfo.InvariantCulture, $"{n.Name} {n.Role} applied {n.AppliedSeq} lag {n.LagSeq?.ToString(CultureInfo.InvariantCulture) ?? "none"}")));
        return $"leader {status.Leader ?? "none"} (term {status.Term}); registered: {(registered.Length > 0 ? registered : "none")}; processes: {processes}";
    }

    /// <summary>The last 40 lines each node wrote (every run appended), so a step that timed out can be read.</summary>
    private static void WriteLogTails(TextWriter output, IEnumerable<Node> nodes)
    {
        foreach (var node in nodes.Where(n => File.Exists(n.LogPath)))
        {
            output.WriteLine($"--- last lines of {node.Name} ---");
            foreach (var line in File.ReadLines(node.LogPath).TakeLast(40))
            {
                output.WriteLine(line);
            }
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
        private IDisposable? _tracked;
        private bool _restartedAfterCut;

        public string Name { get; } = name;

        public string Url { get; } = $"http://127.0.0.1:{port}";

        /// <summary>Whether the node's process runs; the load reads it while a restart or the stop disposes the process.</summary>
        public bool IsRunning
        {
            get
            {
                try
                {
                    return Volatile.Read(ref _process) is { HasExited: false };
                }
                catch (InvalidOperationException)
                {
                    return false; // disposed meanwhile: restarting or stopped
                }
            }
        }

        /// <summary>"running", "exited N" or "not started", for a timeout's description.</summary>
        public string ProcessState
        {
            get
            {
                try
                {
                    return Volatile.Read(ref _process) switch
                    {
                        null => "not started",
                        { HasExited: true } exited => $"exited {exited.ExitCode}",
                        _ => "running",
                    };
                }
                catch (InvalidOperationException)
                {
                    return "restarting";
                }
            }
        }

        /// <summary>Starts the node again when it stopped with exit code 6 (its tail is cut at this start).</summary>
        public void RestartIfCut(FailoverBenchmarkOptions options, string prefix)
        {
            if (_process is { HasExited: true, ExitCode: 6 })
            {
                _process.Dispose();
                Start(options, prefix);
            }
        }

        /// <summary>The node's console output, every run appended (beside its data directory).</summary>
        public string LogPath => directory + ".log";

        public void Start(FailoverBenchmarkOptions options, string prefix, bool clustered = true)
        {
            Directory.CreateDirectory(directory);
            var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "tradestore.dll"));
            foreach (var argument in new[] { "serve", "--data", directory, "--urls", Url })
            {
                start.ArgumentList.Add(argument);
            }

            start.Environment["TRADESTORE__SECURITY__REQUESTSPERSECOND"] = "0";
            // Not this process's socket mode (Program.cs): a node decides its own, as serve does when an operator starts it.
            start.Environment.Remove(SocketEventThreads.InlineCompletionsVariable);
            if (clustered)
            {
                start.Environment["TRADESTORE__CLUSTER__ETCD"] = options.Etcd;
                start.Environment["TRADESTORE__CLUSTER__NODE"] = Name;
                start.Environment["TRADESTORE__CLUSTER__ADVERTISEURL"] = Url;
                start.Environment["TRADESTORE__CLUSTER__KEYPREFIX"] = prefix;
                start.Environment["TRADESTORE__CLUSTER__LEASETTL"] = options.LeaseTtl.ToString("c", CultureInfo.InvariantCulture);
                start.Environment["TRADESTORE__CLUSTER__SYNCREPLICAS"] = options.SyncReplicas.ToString(CultureInfo.InvariantCulture);
            }

            _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {Name}.");
            _tracked ??= ChildProcesses.Track(() =>
            {
                if (Volatile.Read(ref _process) is { HasExited: false } running)
                {
                    running.Kill();
                }
            });
            var log = LogPath;
            var gate = new object();
            void Keep(string? line)
            {
                if (line is not null)
                {
                    lock (gate)
                    {
                        File.AppendAllText(log, line + Environment.NewLine);
                    }
                }
            }

            _process.OutputDataReceived += (_, e) => Keep(e.Data);
            _process.ErrorDataReceived += (_, e) => Keep(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        /// <summary>
        /// Waits until the node answers. A restarted old leader may stop once with exit code 6 (its log had a tail the new
        /// leader never had; the cut happens at the next start): given <paramref name="options"/>, it is started again.
        /// </summary>
        public async Task WaitLiveAsync(HttpClient http, CancellationToken cancellationToken, FailoverBenchmarkOptions? options = null, string? prefix = null) =>
            await WaitAsync(async () =>
            {
                if (_process is { HasExited: true })
                {
                    if (_process.ExitCode == 6 && options is not null && !_restartedAfterCut)
                    {
                        _restartedAfterCut = true;
                        Start(options, prefix!);
                        return false;
                    }

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
            }, live => live, $"{Name} answers", cancellationToken).ContinueWith(t =>
            {
                _restartedAfterCut = false;
                t.GetAwaiter().GetResult();
            }, cancellationToken, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        /// <remarks>
        /// By design awaited, never <c>WaitForExit()</c>: that also waits for the redirected output to end, which is read
        /// through the socket event threads (.NET reads pipes with sockets on Linux), and this may run on one of them.
        /// </remarks>
        public async Task KillAsync()
        {
            _process!.Kill();
            await _process.WaitForExitAsync();
            DeleteRuntimeFiles(_process.Id);
        }

        /// <summary>
        /// The .NET runtime's debugger pipes and diagnostics socket of a process, in the temporary directory
        /// (<c>clr-debug-pipe-PID-*</c>, <c>dotnet-diagnostic-PID-*</c>): it deletes them when it exits, but a SIGKILL left
        /// three files in /tmp for every kill.
        /// </summary>
        private static void DeleteRuntimeFiles(int pid)
        {
            foreach (var pattern in new[] { $"clr-debug-pipe-{pid}-*", $"dotnet-diagnostic-{pid}-*" })
            {
                foreach (var file in Directory.EnumerateFiles(Path.GetTempPath(), pattern))
                {
                    try
                    {
                        File.Delete(file);
                    }
                    catch (IOException)
                    {
                        // Gone meanwhile.
                    }
                }
            }
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
            _tracked?.Dispose();
            _tracked = null;
        }
    }
}
