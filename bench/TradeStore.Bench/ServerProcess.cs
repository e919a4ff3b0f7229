using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace TradeStore.Bench;

/// <summary>
/// <c>tradestore serve</c> as a child process of this same executable, on a free loopback port and a fresh data
/// directory; it reads the usual configuration (appsettings, <c>--config</c>, .env, TRADESTORE__ variables), so Redis
/// and ClickHouse take part when they are configured. Stopped with SIGTERM (graceful drain) when disposed.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Queue<string> _lastLines = new();

    private ServerProcess(Process process, Uri url)
    {
        _process = process;
        Url = url;
    }

    public Uri Url { get; }

    /// <param name="environment">Extra environment variables for the child (TRADESTORE__X__Y overrides).</param>
    public static async Task<ServerProcess> StartAsync(string dataDirectory, string? configFile, IReadOnlyDictionary<string, string> environment, TextWriter output, CancellationToken cancellationToken)
    {
        var port = FreePort();
        var url = new Uri($"http://127.0.0.1:{port}/");
        // The server is the real `tradestore` (its assembly is copied beside this tool's), run as `dotnet tradestore.dll`.
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "tradestore.dll"));
        foreach (var argument in new[] { "serve", "--data", dataDirectory, "--urls", $"http://127.0.0.1:{port}" })
        {
            start.ArgumentList.Add(argument);
        }

        if (configFile is not null)
        {
            start.ArgumentList.Add("--config");
            start.ArgumentList.Add(Path.GetFullPath(configFile));
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the server process.");
        var server = new ServerProcess(process, url);
        process.OutputDataReceived += (_, e) => server.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var probe = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(90))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The server exited with code {process.ExitCode} before answering:{Environment.NewLine}{server.Tail()}");
            }

            try
            {
                using var response = await probe.GetAsync("health/live", cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    output.WriteLine($"server: pid {process.Id} answering at {url} after {deadline.Elapsed.TotalSeconds:0.0} s");
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            await Task.Delay(200, cancellationToken);
        }

        await server.DisposeAsync();
        throw new TimeoutException($"The server did not answer within 90 s:{Environment.NewLine}{server.Tail()}");
    }

    /// <summary>
    /// The server's CPU time so far (user + system, from /proc) and the engine's batch-size and commit-duration
    /// sums and counts from <c>/metrics</c>; the difference of two samples says where a run's time went.
    /// </summary>
    public async Task<ServerSample> SampleAsync(CancellationToken cancellationToken)
    {
        var cpu = 0.0;
        try
        {
            var stat = await File.ReadAllTextAsync($"/proc/{_process.Id}/stat", cancellationToken);
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // Fields 14 and 15 of stat (utime, stime) in clock ticks of 1/100 s; index 11 and 12 after the name.
            cpu = (long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (IOException)
        {
        }

        double batchSum = 0, batchCount = 0, commitSum = 0, commitCount = 0;
        try
        {
            using var probe = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(10) };
            foreach (var line in (await probe.GetStringAsync("metrics", cancellationToken)).Split('\n'))
            {
                var name = line.Split(' ', '{')[0];
                if (!double.TryParse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value))
                {
                    continue;
                }

                switch (name)
                {
                    case var n when n.StartsWith("tradestore_write_batch_size", StringComparison.Ordinal) && n.EndsWith("_sum", StringComparison.Ordinal): batchSum += value; break;
                    case var n when n.StartsWith("tradestore_write_batch_size", StringComparison.Ordinal) && n.EndsWith("_count", StringComparison.Ordinal): batchCount += value; break;
                    case var n when n.StartsWith("tradestore_write_commit_duration", StringComparison.Ordinal) && n.EndsWith("_sum", StringComparison.Ordinal): commitSum += value; break;
                    case var n when n.StartsWith("tradestore_write_commit_duration", StringComparison.Ordinal) && n.EndsWith("_count", StringComparison.Ordinal): commitCount += value; break;
                }
            }
        }
        catch (HttpRequestException)
        {
            // No /metrics (disabled by configuration): CPU time alone still says something.
        }

        return new ServerSample(cpu, batchSum, batchCount, commitSum, commitCount);
    }

    /// <summary>The body of <c>/health/ready</c>: which of DuckDB, Redis and ClickHouse this server uses.</summary>
    public async Task<string> ReadinessAsync(CancellationToken cancellationToken)
    {
        using var probe = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(10) };
        using var response = await probe.GetAsync("health/ready", cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lastLines)
        {
            _lastLines.Enqueue(line);
            if (_lastLines.Count > 40)
            {
                _lastLines.Dequeue();
            }
        }
    }

    private string Tail()
    {
        lock (_lastLines)
        {
            return string.Join(Environment.NewLine, _lastLines);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Cumulative server counters at one moment; see <see cref="ServerProcess.SampleAsync"/>.</summary>
internal sealed record ServerSample(double CpuSeconds, double BatchSum, double BatchCount, double CommitSecondsSum, double CommitCount)
{
    /// <summary>What happened between <paramref name="before"/> and this sample, per request of a run.</summary>
    public ServerCost Since(ServerSample before, long requests)
    {
        var batches = BatchCount - before.BatchCount;
        var commits = CommitCount - before.CommitCount;
        return new ServerCost(
            requests > 0 ? (CpuSeconds - before.CpuSeconds) * 1_000_000 / requests : 0,
            batches > 0 ? (BatchSum - before.BatchSum) / batches : 0,
            commits > 0 ? (CommitSecondsSum - before.CommitSecondsSum) * 1000 / commits : 0,
            (long)commits);
    }
}

/// <summary>Server-side cost of one run: CPU per request, the engine's mean batch size and mean commit time.</summary>
public sealed record ServerCost(double CpuMicrosecondsPerRequest, double MeanBatchSize, double MeanCommitMs, long Commits);
