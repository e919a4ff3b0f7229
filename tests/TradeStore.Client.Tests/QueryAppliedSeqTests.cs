namespace TradeStore.Client.Tests;

/// <summary>
/// Every query answer's <c>TradeStore-Applied-Seq</c> reaches the caller: a query after a write reports a seq at least the
/// write's, in every format, and the rows it names hold that write.
/// </summary>
public sealed class QueryAppliedSeqTests(LiveServer server) : IClassFixture<LiveServer>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<Trade> CreateAsync(TradeStoreClient client)
    {
        var id = $"APPLIED-{Guid.NewGuid():N}";
        return await client.CreateTradeAsync(new NewTrade(id, $"ACC-{id}", "AAPL", TradeSide.Buy, 1m, 2m), cancellationToken: Ct);
    }

    [Fact]
    public async Task QueryAsync_AfterAWrite_AppliedSeqAtLeastTheWritesAndItsRowThere()
    {
        var client = server.Client();
        var created = await CreateAsync(client);

        var result = await client.QueryAsync($"SELECT version FROM current_trade_state WHERE trade_id = '{created.TradeId}'", Ct);

        Assert.True(result.AppliedSeq >= created.LastSeq, $"AppliedSeq {result.AppliedSeq} below the write's seq {created.LastSeq}");
        Assert.Equal(1L, Assert.Single(result.Rows)[0]);
    }

    [Theory]
    [InlineData(QueryFormat.Arrow)]
    [InlineData(QueryFormat.Parquet)]
    [InlineData(QueryFormat.Csv)]
    [InlineData(QueryFormat.Json)]
    public async Task QueryStreamAsync_AfterAWrite_AppliedSeqAtLeastTheWrites(QueryFormat format)
    {
        var client = server.Client();
        var created = await CreateAsync(client);

        await using var stream = await client.QueryStreamAsync($"SELECT trade_id FROM current_trade_state WHERE trade_id = '{created.TradeId}'", format, Ct);
        using var body = new MemoryStream();
        await stream.CopyToAsync(body, Ct);

        Assert.True(stream.AppliedSeq >= created.LastSeq, $"AppliedSeq {stream.AppliedSeq} below the write's seq {created.LastSeq}");
        Assert.True(body.Length > 0);
    }

    [Fact]
    public async Task QueryStreamAsync_StreamedAnswer_CarriesAppliedSeq()
    {
        var client = server.Client();
        var created = await CreateAsync(client);
        // ~2 KB a row, 5,000 rows: ~10 MB of Arrow, past the 1 MiB the server holds, so its headers leave before the rows.
        var sql = $"SELECT range AS n, '{new string('x', 2000)}' AS pad FROM range({LiveServer.QueryMaxRows})";

        await using var stream = await client.QueryStreamAsync(sql, QueryFormat.Arrow, Ct);
        using var reader = new Apache.Arrow.Ipc.ArrowStreamReader(stream);
        var rows = 0;
        while (await reader.ReadNextRecordBatchAsync(Ct) is { } batch)
        {
            rows += batch.Length;
        }

        Assert.True(stream.AppliedSeq >= created.LastSeq, $"AppliedSeq {stream.AppliedSeq} below the write's seq {created.LastSeq}");
        Assert.Equal(LiveServer.QueryMaxRows, rows);
    }
}
