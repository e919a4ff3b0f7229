using System.Collections.Concurrent;
using System.Net;
using System.Text;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// The fault run of issue 18 as a test: <c>serve</c> on a real small disk (tmpfs) under 60 s of write load while the
/// disk fills and empties twice. Nothing acknowledged is lost, nothing refused is stored, readiness follows the disk,
/// writes resume by themselves, and the log stays small (one stack trace per run of failures, then counts).
/// </summary>
[Collection(nameof(FaultCollection))]
public sealed class DiskFullFaultTests
{
    private const int SigTerm = 15;
    private const int Clients = 4;
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(12);

    [Fact]
    public async Task Serve_DiskFillsAndEmptiesTwiceUnderLoad_NothingAcknowledgedLostReadinessFollowsAndLogStaysSmall()
    {
        using var disk = SmallDisk.Mount(megabytes: 256);
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var acknowledged = new ConcurrentDictionary<string, bool>();
        var refused = new ConcurrentDictionary<string, bool>();
        var readiness = new List<string>();
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        string log;
        await using (var serve = TradeStoreProcess.Start(["serve", "--data", disk.Path, "--urls", url], Path.GetTempPath(), Unthrottled))
        {
            await serve.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, Clients).Select(c => WriteUntilStoppedAsync(http, $"C{c}", acknowledged, refused, stop.Token)).ToList();

            for (var round = 1; round <= 2; round++)
            {
                await Task.Delay(Phase / 2, TestContext.Current.CancellationToken);
                var before = acknowledged.Count;
                disk.Fill();
                readiness.Add($"full {round}: {await WaitForReadinessAsync(http, HttpStatusCode.ServiceUnavailable)}");
                await Task.Delay(Phase / 2, TestContext.Current.CancellationToken);
                disk.Empty();
                readiness.Add($"empty {round}: {await WaitForReadinessAsync(http, HttpStatusCode.OK)}");
                var resumed = acknowledged.Count;
                await AcknowledgedWrites.WaitForAsync(() => acknowledged.Count > resumed + 100, TimeSpan.FromSeconds(30));
                Assert.True(acknowledged.Count > resumed + 100, $"round {round}: writes resumed ({before} acknowledged before the disk filled)");
            }

            await Task.Delay(Phase, TestContext.Current.CancellationToken);
            await stop.CancelAsync();
            await Task.WhenAll(writers);
            serve.Signal(SigTerm);
            Assert.Equal(0, await serve.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            log = serve.Output;
        }

        Assert.True(refused.Count > 0, "the full disk refused writes");
        Assert.Contains("No space left on device", log);
        Assert.Contains("Commits succeed again", log);
        var logBytes = Encoding.UTF8.GetByteCount(log);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{acknowledged.Count} acknowledged, {refused.Count} refused as storage-failure; log {logBytes} bytes; {string.Join("; ", readiness)}");
        Assert.True(logBytes < 1_000_000, $"the log holds {logBytes} bytes");

        // After a restart: every acknowledged trade is there, no refused one is.
        await using var restarted = TradeStoreProcess.Start(["serve", "--data", disk.Path, "--urls", url], Path.GetTempPath(), Unthrottled);
        await restarted.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        var stored = await AcknowledgedWrites.ReadAllAsync(http);
        Assert.All(acknowledged.Keys, id => Assert.True(stored.ContainsKey(id), $"acknowledged {id} is missing"));
        Assert.All(refused.Keys, id => Assert.False(stored.ContainsKey(id), $"refused {id} was stored"));
        Assert.Equal(acknowledged.Count, stored.Count);
    }

    /// <summary>The request rate limit out of the way: this test is about the disk, and the log-first path can take more than its default.</summary>
    private static readonly Dictionary<string, string> Unthrottled = new() { ["TRADESTORE__SECURITY__REQUESTSPERSECOND"] = "10000000" };

    /// <summary>One client: creates trades one by one; 201 is acknowledged, 500 storage-failure refused, anything else fails the test.</summary>
    private static async Task WriteUntilStoppedAsync(HttpClient http, string prefix, ConcurrentDictionary<string, bool> acknowledged,
        ConcurrentDictionary<string, bool> refused, CancellationToken stop)
    {
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var tradeId = $"{prefix}-{n}";
            var body = $$"""{"tradeId":"{{tradeId}}","account":"ACC-{{n % 5}}","symbol":"SYM","side":"buy","quantity":"{{n + 1}}","price":"1.5"}""";
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await http.PostAsync("/v1/trades", content, CancellationToken.None);
            if (response.StatusCode == HttpStatusCode.Created)
            {
                acknowledged[tradeId] = true;
            }
            else
            {
                var text = await response.Content.ReadAsStringAsync(CancellationToken.None);
                Assert.True(response.StatusCode == HttpStatusCode.InternalServerError && text.Contains("storage-failure", StringComparison.Ordinal),
                    $"{tradeId}: {(int)response.StatusCode} {text}");
                refused[tradeId] = true;
                await Task.Delay(10, CancellationToken.None); // a refused client backs off a little, as a real one would
            }
        }
    }

    /// <summary>Polls readiness until it answers <paramref name="expected"/>; returns its DuckDB description.</summary>
    private static async Task<string> WaitForReadinessAsync(HttpClient http, HttpStatusCode expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var last = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await http.GetAsync("/health/ready", TestContext.Current.CancellationToken);
            last = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            if (response.StatusCode == expected)
            {
                return last.Length > 300 ? last[..300] : last;
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException($"readiness did not become {(int)expected} within 30 s: {last}");
    }
}
