namespace TradeStore.Client.Tests;

/// <summary>
/// One client shared as an application shares it (a singleton, or the options-only constructor's process-wide
/// <see cref="HttpClient"/>): many callers at once each get the answer to their own request, and a caller's
/// <see cref="CancellationToken"/> ends its call at once instead of being taken for an attempt's timeout and retried.
/// </summary>
public sealed class SharedClientTests(LiveServer server) : IClassFixture<LiveServer>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ThirtyTwoCallers_OneClientOnTheSharedHttpClient_EachGetsItsOwnAnswersAndPagesNeverRepeatOrSkip()
    {
        var client = new TradeStoreClient(new TradeStoreClientOptions { BaseAddress = server.BaseAddress, PageSize = 7 });
        var account = $"SHARE-{Guid.NewGuid():N}"[..30];
        const int Callers = 32, Rounds = 8;

        var mismatches = await Task.WhenAll(Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
        {
            var wrong = new List<string>();
            for (var round = 0; round < Rounds; round++)
            {
                var id = $"{account}-{caller}-{round}";
                var created = await client.CreateTradeAsync(new NewTrade(id, account, "AAPL", TradeSide.Buy, 1m, 2m), cancellationToken: Ct);
                var read = await client.GetTradeAsync(id, Ct);
                var filled = await client.FillAsync(id, 1m, 2m, cancellationToken: Ct);
                wrong.AddRange(new[] { created.TradeId, read.TradeId, filled.TradeId }.Where(answer => answer != id).Select(answer => $"{id} answered {answer}"));
            }

            var listed = new List<string>();
            await foreach (var trade in client.TradesAsync(new TradeFilter(Account: account), Ct))
            {
                listed.Add(trade.TradeId);
            }

            // Others are still writing: this caller's own trades are all there, and no trade is listed twice.
            wrong.AddRange(Enumerable.Range(0, Rounds).Select(round => $"{account}-{caller}-{round}").Except(listed).Select(id => $"{id} not listed"));
            wrong.AddRange(listed.GroupBy(id => id).Where(g => g.Count() > 1).Select(g => $"{g.Key} listed {g.Count()} times"));
            return wrong;
        }, Ct)));

        Assert.Empty(mismatches.SelectMany(m => m));
        var all = new List<Trade>();
        await foreach (var trade in client.TradesAsync(new TradeFilter(Account: account), Ct))
        {
            all.Add(trade);
        }

        Assert.Equal(Callers * Rounds, all.Select(t => t.TradeId).Distinct().Count());
        Assert.Equal(Callers * Rounds, all.Count);
        Assert.All(all, t => Assert.Equal("filled", t.Status));
    }

    [Fact]
    public async Task CancelledWhileTheAnswerIsHeld_ThrowsOperationCanceledAfterOneAttemptNotATimeout()
    {
        await using var proxy = new FaultyProxy(server.BaseAddress, ProxyFault.HoldAnswer, ProxyFault.HoldAnswer);
        var client = server.Client(proxy.Address); // the default 15 s Timeout: only the caller's token can end it early
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var id = $"CANCEL-{Guid.NewGuid():N}";
        var call = client.CreateTradeAsync(new NewTrade(id, "ACC-C", "AAPL", TradeSide.Buy, 1m, 2m), idempotencyKey: $"key-{id}", cancellationToken: cancel.Token);
        await WaitForAsync(() => proxy.Header("Idempotency-Key").Count == 1);

        await cancel.CancelAsync();

        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(cancel.Token, error.CancellationToken);
        Assert.Single(proxy.Header("Idempotency-Key"));
    }

    [Fact]
    public async Task CancelledWhileWaitingToRetryABusyServer_ThrowsOperationCanceledWithoutAnotherAttempt()
    {
        await using var proxy = new FaultyProxy(server.BaseAddress, ProxyFault.Busy, ProxyFault.Busy);
        var client = server.Client(proxy.Address, o => o.MaxRetryDelay = TimeSpan.FromMinutes(5));
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var call = client.GetTradeAsync("T-BUSY", cancel.Token);
        await WaitForAsync(() => proxy.Header("Idempotency-Key").Count == 1);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.True(proxy.Header("Idempotency-Key").Count <= 2); // the retry waits Retry-After (1 s); cancelled in it, or at the second busy
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        while (!condition())
        {
            await Task.Delay(20, Ct);
        }
    }
}
