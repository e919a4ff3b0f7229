using System.Collections.Concurrent;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// Durability as a client sees it: the real <c>tradestore serve</c> is killed with SIGKILL while several clients
/// write over HTTP, restarted on the same data directory, and every acknowledged write must still be there.
/// </summary>
public sealed class KillRecoveryTests : IDisposable
{
    private const int SigKill = 9;
    private const int SigTerm = 15;
    private const int Clients = 8;
    private const int Rounds = 3;
    private readonly TempDirectory _work = new("kill");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task Serve_KilledMidStream_EveryAcknowledgedTradePresentWithItsVersion()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var ledger = new ConcurrentDictionary<string, Written>();
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };

        for (var round = 0; round < Rounds; round++)
        {
            await using var child = await StartAsync(url);
            // Everything acknowledged in earlier rounds survived the kill before this start.
            await AcknowledgedWrites.AssertDurableAsync(http, ledger, $"after restart {round}");

            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, Clients).Select(c => AcknowledgedWrites.WriteUntilStoppedAsync(http, ledger, $"K{round}-{c}", stop.Token)).ToList();
            // Up to 60 s for the 300: fsyncs on a loaded CI machine may be slow, and the count matters, not the rate.
            await AcknowledgedWrites.WaitForAsync(() => AcknowledgedWrites.Acknowledged(ledger, $"K{round}-") >= 300 || writers.Any(w => w.IsCompleted), TimeSpan.FromSeconds(60));

            child.Signal(SigKill);
            await child.WaitForExitAsync(TimeSpan.FromSeconds(30));
            await stop.CancelAsync();
            await Task.WhenAll(writers);
            Assert.True(AcknowledgedWrites.Acknowledged(ledger, $"K{round}-") >= 300, $"round {round}: too few writes acknowledged before the kill:\n{child.Output}");
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"round {round}: {AcknowledgedWrites.Acknowledged(ledger, $"K{round}-")} trades acknowledged, {ledger.Count(w => w.Value.InFlight > 0)} commands in flight at SIGKILL");
        }

        await using var last = await StartAsync(url);
        await AcknowledgedWrites.AssertDurableAsync(http, ledger, "after the last restart");
        // The start after a kill says what it found and that nothing needs doing. It used to advise
        // `tradestore recover --from redis` after every kill, here with neither Redis nor ClickHouse configured.
        var unclean = last.Output.Split('\n').Single(line => line.Contains("The last shutdown was not clean", StringComparison.Ordinal));
        Assert.Contains("Nothing needs doing", unclean, StringComparison.Ordinal);
        Assert.DoesNotContain("recover --from", unclean, StringComparison.Ordinal);
        last.Signal(SigTerm);
        Assert.Equal(0, await last.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    private async Task<TradeStoreProcess> StartAsync(string url)
    {
        var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path);
        await child.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        return child;
    }
}
