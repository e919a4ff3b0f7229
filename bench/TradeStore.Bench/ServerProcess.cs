using System.Diagnostics;
using TradeStore.TestSupport;

namespace TradeStore.Bench;

/// <summary>
/// <c>tradestore serve</c> as a child process (the one wrapper, <see cref="TradeStoreProcess"/>, running the
/// <c>tradestore.dll</c> copied beside this tool) on a free loopback port and a fresh data directory; it reads the usual
/// configuration (appsettings, <c>--config</c>, .env, TRADESTORE__ variables), so Redis and ClickHouse take part when
/// they are configured. Stopped with SIGTERM (graceful drain) when disposed. Adds what a benchmark reads of it.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private readonly TradeStoreProcess _process;
    private readonly IDisposable _tracked;

    private ServerProcess(TradeStoreProcess process, IDisposable tracked, Uri url)
    {
        _process = process;
        _tracked = tracked;
        Url = url;
    }

    public Uri Url { get; }

    /// <summary>The server's process id.</summary>
    public int Pid => _process.Id;

    /// <param name="environment">Extra environment variables for the child (TRADESTORE__X__Y overrides).</param>
    public static async Task<ServerProcess> StartAsync(string dataDirectory, string? configFile, IReadOnlyDictionary<string, string> environment, TextWriter output, CancellationToken cancellationToken)
    {
        var port = FreePort.Next();
        var url = new Uri($"http://127.0.0.1:{port}/");
        List<string> arguments = ["serve", "--data", dataDirectory, "--urls", $"http://127.0.0.1:{port}"];
        if (configFile is not null)
        {
            arguments.AddRange(["--config", Path.GetFullPath(configFile)]);
        }

        var started = Stopwatch.StartNew();
        var process = TradeStoreProcess.Start(arguments, Environment.CurrentDirectory, environment.ToDictionary(),
            assembly: Path.Combine(AppContext.BaseDirectory, "tradestore.dll"), inheritSettings: true);
        var tracked = ChildProcesses.Track(() =>
        {
            if (!process.HasExited)
            {
                process.Signal(9);
            }
        });
        try
        {
            await process.WaitUntilAnsweringAsync(new Uri(url, "health/live").ToString(), StartTimeout);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            // One line an operator can act on (the child's last words), not a stack trace with its whole output.
            var lastLine = process.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "(no output)";
            var what = process.HasExited ? $"exited with code {process.ExitCode}" : $"did not answer within {StartTimeout.TotalSeconds:0} s";
            await process.DisposeAsync();
            tracked.Dispose();
            throw new TradeStore.Cli.CommandFailedException($"the child 'tradestore serve' {what} at {url}; its last output: {lastLine}");
        }
        catch
        {
            await process.DisposeAsync();
            tracked.Dispose();
            throw;
        }

        output.WriteLine($"server: pid {process.Id} answering at {url} after {started.Elapsed.TotalSeconds:0.0} s");
        return new ServerProcess(process, tracked, url);
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
                if (!MetricsLine.TryRead(line, out var name, out var value))
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
            _process.Signal(15); // SIGTERM: the graceful drain
            try
            {
                await _process.WaitForExitAsync(StopTimeout);
            }
            catch (TimeoutException)
            {
                // Killed by the wrapper; the benchmark's figures are already taken.
            }
        }

        await _process.DisposeAsync();
        _tracked.Dispose();
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
