using System.Collections.Concurrent;
using System.Diagnostics;
using TradeStore.Guard;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// The guard keeps <c>serve</c> running while clients write and the child is SIGKILLed again and again; no
/// acknowledged trade may be lost or doubled, Redis and ClickHouse must converge, and SIGTERM to the guard
/// under load must end it cleanly.
/// </summary>
public sealed class CrashLoopTests : IDisposable
{
    private const int Kills = 20;
    private const int Clients = 4;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _work = new("crashloop");
    private readonly string _url = $"http://127.0.0.1:{FreePort.Next()}";

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task Guard_ChildKilledTwentyTimesUnderLoad_NothingAcknowledgedLostAndStoresConverge()
    {
        var environment = new Dictionary<string, string>
        {
            ["TRADESTORE__REDIS__CONNECTION"] = TestServers.Redis,
            ["TRADESTORE__REDIS__KEYPREFIX"] = $"crashloop:{Guid.NewGuid():N}:",
            ["TRADESTORE__CLICKHOUSE__URL"] = TestServers.ClickHouse,
            ["TRADESTORE__CLICKHOUSE__DATABASE"] = $"crashloop_{Guid.NewGuid():N}",
        };
        var statusPath = _work.File("guard.json");
        var ledger = new ConcurrentDictionary<string, Written>();
        using var http = new HttpClient { BaseAddress = new Uri(_url), Timeout = TimeSpan.FromSeconds(10) };
        await using var guard = TradeStoreProcess.Start(
            ["guard", "--probe-interval", "200ms", "--probe-timeout", "2s", "--probe-failures", "25", "--backoff-min", "100ms", "--backoff-max", "1s",
             "--max-restarts", "100", "--restart-window", "10m", "--grace-period", "15s", "--status-file", statusPath,
             "--", "serve", "--data", _work.Path, "--urls", _url], _work.Path, environment);
        await guard.WaitUntilAnsweringAsync($"{_url}/health/live", Patience);

        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, Clients).Select(c => WriteAcrossRestartsAsync(http, ledger, $"C{c}", stop.Token)).ToList();
        var restartTimes = new List<double>();
        var random = new Random(20261126);
        for (var kill = 0; kill < Kills; kill++)
        {
            var before = AcknowledgedWrites.Acknowledged(ledger, "C");
            await AcknowledgedWrites.WaitForAsync(() => AcknowledgedWrites.Acknowledged(ledger, "C") >= before + 20 + random.Next(80), TimeSpan.FromSeconds(15));
            var status = StatusFile.Read(statusPath) ?? throw new InvalidOperationException("no guard status");
            Assert.True(PosixSignals.Send(status.ChildPid!.Value, PosixSignals.SigKill), $"kill {kill}: child {status.ChildPid} not found");
            var stopwatch = Stopwatch.StartNew();
            await WaitForNewChildAnsweringAsync(statusPath, status.ChildPid.Value);
            restartTimes.Add(stopwatch.Elapsed.TotalMilliseconds);
        }

        // SIGTERM to the guard while the clients are still writing: a clean stop.
        guard.Signal(15);
        var guardExit = await guard.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        Assert.True(guardExit == 0, $"guard exit code {guardExit}:\n{guard.Output[^Math.Min(guard.Output.Length, 4000)..]}");

        // Everything acknowledged is there after the next start; then Redis and ClickHouse catch up and match.
        await using (var serve = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", _url], _work.Path, environment))
        {
            await serve.WaitUntilAnsweringAsync($"{_url}/health/ready", Patience);
            await AcknowledgedWrites.AssertDurableAsync(http, ledger, $"after {Kills} kills and a SIGTERM");
            await WaitUntilDerivedStoresCaughtUpAsync(http);
            serve.Signal(15);
            Assert.Equal(0, await serve.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        var (verifyExit, verifyOutput) = await TradeStoreProcess.RunAsync(["verify", "--redis", "--clickhouse", "--data", _work.Path], _work.Path, environment);
        Assert.True(verifyExit == 0, verifyOutput);

        restartTimes.Sort();
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{Kills} SIGKILLs under {Clients} writing clients: {AcknowledgedWrites.Acknowledged(ledger, "C"):N0} trades acknowledged, 0 lost, 0 duplicated; " +
            $"restart to answering p50 {restartTimes[restartTimes.Count / 2]:0} ms, p99 {restartTimes[^1]:0} ms");
    }

    /// <summary>One client: writes until the server dies, pauses, and goes on with fresh trade ids until stopped.</summary>
    private static async Task WriteAcrossRestartsAsync(HttpClient http, ConcurrentDictionary<string, Written> ledger, string client, CancellationToken stop)
    {
        for (var attempt = 0; !stop.IsCancellationRequested; attempt++)
        {
            await AcknowledgedWrites.WriteUntilStoppedAsync(http, ledger, $"{client}.{attempt}", stop);
            await Task.Delay(50, CancellationToken.None);
        }
    }

    /// <summary>Polls <c>/metrics</c> until neither the Redis projector nor the ClickHouse sync has an event left to apply.</summary>
    private static async Task WaitUntilDerivedStoresCaughtUpAsync(HttpClient http)
    {
        var deadline = DateTime.UtcNow + Patience;
        var text = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            text = await http.GetStringAsync("/metrics");
            if (Gauge(text, "tradestore_sync_events_behind") == 0 && Gauge(text, "tradestore_redis_lag_events") == 0)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Redis or ClickHouse did not catch up within {Patience}:\n" +
            string.Join('\n', text.Split('\n').Where(l => l.StartsWith("tradestore_sync", StringComparison.Ordinal) || l.StartsWith("tradestore_redis", StringComparison.Ordinal))));
    }

    private static double? Gauge(string metrics, string name) => metrics.Split('\n')
        .Where(line => line.StartsWith(name, StringComparison.Ordinal) && !line.StartsWith('#'))
        .Select(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture))
        .Cast<double?>()
        .FirstOrDefault();

    private async Task WaitForNewChildAnsweringAsync(string statusPath, int killedPid)
    {
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            if (StatusFile.Read(statusPath) is { ChildPid: { } pid, State: GuardStates.Running } && pid != killedPid)
            {
                try
                {
                    using var response = await probe.GetAsync($"{_url}/health/live");
                    if (response.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    // not answering yet
                }
            }

            await Task.Delay(25);
        }

        throw new TimeoutException($"no new child answered within {Patience} after pid {killedPid} was killed");
    }
}
