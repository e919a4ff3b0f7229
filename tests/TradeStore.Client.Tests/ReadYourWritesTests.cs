namespace TradeStore.Client.Tests;

/// <summary>
/// Read your writes on any node: the reads take <c>minSeq</c> (the <see cref="Trade.LastSeq"/> of the write's answer),
/// which the server honours on every node, standalone included: it answers once it holds that seq, else
/// <c>503 seq-not-reached</c>. A proxy records what each read asked for.
/// </summary>
public sealed class ReadYourWritesTests(LiveServer server) : IClassFixture<LiveServer>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Reads_WithTheWritesLastSeq_SendMinSeqAndSeeTheWrite()
    {
        var id = $"RYW-{Guid.NewGuid():N}";
        var account = $"ACC-{id}";
        await server.Client().CreateTradeAsync(new NewTrade(id, account, "AAPL", TradeSide.Buy, 10m, 2m), cancellationToken: Ct);
        var filled = await server.Client().FillAsync(id, 4m, 2m, cancellationToken: Ct);
        await using var proxy = new FaultyProxy(server.BaseAddress, new ProxySettings(OneRequestPerConnection: true));
        var client = server.Client(proxy.Address);

        var trade = await client.GetTradeAsync(id, filled.LastSeq, Ct);
        var history = await client.HistoryAsync(id, filled.LastSeq, Ct);
        var listed = await client.TradesAsync(new TradeFilter(Account: account), filled.LastSeq, Ct).ToListAsync(Ct);
        var positions = await client.PositionsAsync(account, filled.LastSeq, Ct);

        Assert.Equal((2L, 4m), (trade.Version, trade.FilledQuantity));
        Assert.Equal(filled.LastSeq, history.Items[^1].Seq);
        Assert.Equal(4m, Assert.Single(listed).FilledQuantity);
        Assert.Equal(4m, Assert.Single(positions).NetQuantity);
        var minSeq = $"minSeq={filled.LastSeq} ";
        Assert.Equal(4, proxy.RequestHeads.Count);
        Assert.All(proxy.RequestHeads, head => Assert.Contains(minSeq, head.Split("\r\n")[0], StringComparison.Ordinal));
        Assert.Contains($"/v1/positions?account={account}&minSeq=", proxy.RequestHeads[3], StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetTradeAsync_SeqTheNodeDoesNotHold_SeqNotReachedNamingMinSeq()
    {
        var trade = await server.Client().CreateTradeAsync(new NewTrade($"RYW2-{Guid.NewGuid():N}", "ACC-RYW", "AAPL", TradeSide.Buy, 1m, 2m), cancellationToken: Ct);
        var client = server.Client(configure: o => o.MaxRetries = 0);

        var problem = await Assert.ThrowsAsync<TradeStoreProblemException>(() => client.GetTradeAsync(trade.TradeId, trade.LastSeq + 1_000_000, Ct));

        Assert.Equal((503, "urn:tradestore:problem:seq-not-reached", "minSeq"), (problem.Status, problem.Type, problem.Field));
        Assert.False(problem.IsInDoubt);
    }

    [Fact]
    public async Task Queries_WithTheWritesLastSeq_SendMinSeqAndSeeTheWrite_AndASeqNotHeldIsSeqNotReached()
    {
        var id = $"RYWQ-{Guid.NewGuid():N}";
        await server.Client().CreateTradeAsync(new NewTrade(id, "ACC-RYWQ", "AAPL", TradeSide.Buy, 10m, 2m), cancellationToken: Ct);
        var filled = await server.Client().FillAsync(id, 4m, 2m, cancellationToken: Ct);
        await using var proxy = new FaultyProxy(server.BaseAddress, new ProxySettings(OneRequestPerConnection: true));
        var client = server.Client(proxy.Address, o => o.MaxRetries = 0);
        var sql = $"SELECT filled_quantity FROM current_trade_state WHERE trade_id = '{id}'";

        var result = await client.QueryAsync(sql, filled.LastSeq, Ct);
        await using (var csv = await client.QueryStreamAsync(sql, QueryFormat.Csv, filled.LastSeq, Ct))
        {
            Assert.Contains("4.00000000", await new StreamReader(csv).ReadToEndAsync(Ct), StringComparison.Ordinal);
        }

        var ahead = await Assert.ThrowsAsync<TradeStoreProblemException>(() => client.QueryAsync(sql, filled.LastSeq + 1_000_000, Ct));

        Assert.Equal(4m, Assert.Single(result.Rows)[0]);
        Assert.True(result.AppliedSeq >= filled.LastSeq);
        Assert.Equal((503, "urn:tradestore:problem:seq-not-reached", "minSeq"), (ahead.Status, ahead.Type, ahead.Field));
        Assert.Equal($"POST /v1/query?minSeq={filled.LastSeq} HTTP/1.1", proxy.RequestHeads[0].Split("\r\n")[0]);
        Assert.Equal($"POST /v1/query?minSeq={filled.LastSeq} HTTP/1.1", proxy.RequestHeads[1].Split("\r\n")[0]);
    }
}
