namespace TradeStore.Server.Tests;

/// <summary>
/// <c>POST /v1/query</c> reads DuckDB, which trails the acknowledgements by up to <c>Engine:ApplyInterval</c>; a query
/// first waits for DuckDB to hold every write acknowledged before it arrived, so a caller's own writes are in its SQL.
/// Here DuckDB commits at most once a second and the state flush (which also waits for DuckDB) once a minute, so
/// without that wait the query would run before the write is in DuckDB.
/// </summary>
public sealed class QueryFreshnessTests : ApiTestBase
{
    protected override Dictionary<string, string> Environment => new()
    {
        ["TRADESTORE__ENGINE__APPLYINTERVAL"] = "00:00:01",
        ["TRADESTORE__ENGINE__STATEFLUSHINTERVAL"] = "00:01:00",
    };

    [Fact]
    public async Task Query_RightAfterEachWrite_SeesItInTradeEventsAndCurrentState()
    {
        for (var i = 0; i < 5; i++)
        {
            var id = $"QF-{i}";
            Assert.Equal(201, (await Api.CreateAsync(id)).Code);

            var answer = await Api.PostAsync("/v1/query",
                $$"""{"sql":"SELECT (SELECT count(*) FROM trade_events WHERE trade_id = '{{id}}'), (SELECT count(*) FROM current_trade_state WHERE trade_id = '{{id}}')"}""");

            Assert.True(answer.Code == 200, answer.Raw);
            var row = answer.Body.GetProperty("rows")[0];
            Assert.Equal(1, row[0].GetInt64());
            Assert.Equal(1, row[1].GetInt64());
        }
    }

    /// <summary>
    /// Every query answer names the seq DuckDB held when it started (<c>TradeStore-Applied-Seq</c>): here DuckDB caught up,
    /// so it is the seq of the write just acknowledged; a query refused by DuckDB carries it too.
    /// </summary>
    [Fact]
    public async Task Query_AfterWrites_AppliedSeqHeaderIsTheLastWritesSeq()
    {
        for (var i = 0; i < 3; i++)
        {
            var written = await Api.CreateAsync($"QA-{i}");
            var seq = written.Headers.GetValues("TradeStore-Seq").Single();

            var answer = await Api.PostAsync("/v1/query", """{"sql":"SELECT max(seq) FROM trade_events"}""");
            var refused = await Api.PostAsync("/v1/query", """{"sql":"SELECT no_such_column FROM trade_events"}""");

            Assert.True(answer.Code == 200, answer.Raw);
            Assert.Equal(seq, answer.Headers.GetValues("TradeStore-Applied-Seq").Single());
            Assert.Equal(long.Parse(seq, System.Globalization.CultureInfo.InvariantCulture), answer.Body.GetProperty("rows")[0][0].GetInt64());
            Assert.Equal("urn:tradestore:problem:query-rejected", refused.ProblemType);
            Assert.Equal(seq, refused.Headers.GetValues("TradeStore-Applied-Seq").Single());
        }
    }
}
