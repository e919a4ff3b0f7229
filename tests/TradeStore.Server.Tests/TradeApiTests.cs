using System.Net;
using System.Text.Json;

namespace TradeStore.Server.Tests;

/// <summary>The single-trade endpoints end to end: real host, real engine, real DuckDB file.</summary>
public sealed class TradeApiTests : ApiTestBase
{
    [Fact]
    public async Task Create_ExactDecimalsAsStringAndNumber_StoredAndReturnedExactly()
    {
        var created = await Api.PostAsync("/v1/trades",
            """{"tradeId":"T-1","account":"ACC-1","symbol":"BTC-USD","side":"sell","quantity":"0.00000001","price":1234567890.12345678,"venue":"XNAS","trader":"ann","executedAt":"2026-01-02T03:04:05.1234567+01:00"}""");

        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.Equal("/v1/trades/T-1", created.Headers.Location?.OriginalString);
        Assert.Equal("0.00000001", created.RawOf("quantity"));
        Assert.Equal("1234567890.12345678", created.RawOf("price"));
        Assert.Equal("sell", created.Body.GetProperty("side").GetString());
        Assert.Equal("new", created.Body.GetProperty("status").GetString());
        Assert.Equal("2026-01-02T02:04:05.123456Z", created.Body.GetProperty("executedAt").GetString());
        Assert.Equal(1, created.Version);
        Assert.Equal(JsonValueKind.Null, created.Body.GetProperty("averageFillPrice").ValueKind);

        var read = await Api.GetAsync("/v1/trades/T-1");
        Assert.Equal(HttpStatusCode.OK, read.Status);
        Assert.Equal(created.Raw, read.Raw);
    }

    [Fact]
    public async Task Lifecycle_CreateAmendFillCancelDelete_EachStepVersionedAndInHistory()
    {
        await Api.CreateAsync("T-2", quantity: "10", price: "100");

        var amended = await Api.PostAsync("/v1/trades/T-2/amend", """{"expectedVersion":1,"quantity":"1234567890.12345678","price":"0.00000001","venue":"XLON"}""");
        Assert.Equal(HttpStatusCode.OK, amended.Status);
        Assert.Equal(2, amended.Version);
        Assert.Equal("1234567890.12345678", amended.RawOf("quantity"));
        Assert.Equal("0.00000001", amended.RawOf("price"));
        Assert.Equal("XLON", amended.Body.GetProperty("venue").GetString());

        var filled = await Api.PostAsync("/v1/trades/T-2/fill", """{"quantity":0.5,"price":"101.25"}""");
        Assert.Equal(HttpStatusCode.OK, filled.Status);
        Assert.Equal("partially_filled", filled.Body.GetProperty("status").GetString());
        Assert.Equal("0.5", filled.RawOf("filledQuantity"));
        Assert.Equal("101.25", filled.RawOf("averageFillPrice"));

        var cancelled = await Api.PostAsync("/v1/trades/T-2/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancelled.Status);
        Assert.Equal("cancelled", cancelled.Body.GetProperty("status").GetString());
        Assert.Equal(4, cancelled.Version);

        var deleted = await Api.DeleteAsync("/v1/trades/T-2?expectedVersion=4");
        Assert.Equal(HttpStatusCode.OK, deleted.Status);
        Assert.Equal("deleted", deleted.Body.GetProperty("status").GetString());

        Assert.Equal(HttpStatusCode.NotFound, (await Api.GetAsync("/v1/trades/T-2")).Status);
        var history = await Api.GetAsync("/v1/trades/T-2/history");
        Assert.Equal(HttpStatusCode.OK, history.Status);
        var items = history.Body.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["create", "amend", "fill", "cancel", "delete"], items.Select(e => e.GetProperty("type").GetString()));
        Assert.Equal([1L, 2, 3, 4, 5], items.Select(e => e.GetProperty("version").GetInt64()));
        Assert.Equal("0.5", items[2].GetProperty("lastQuantity").GetRawText());
        Assert.Equal("101.25", items[2].GetProperty("lastPrice").GetRawText());
    }

    [Fact]
    public async Task Create_RetriedWithSameIdempotencyKey_ReplaysOriginalAndWritesOneEvent()
    {
        var body = ApiClient.CreateBody("T-3");

        var first = await Api.PostAsync("/v1/trades", body, idempotencyKey: "key-3");
        var retry = await Api.PostAsync("/v1/trades", body, idempotencyKey: "key-3");

        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.Equal(HttpStatusCode.Created, retry.Status);
        Assert.Equal(first.Raw, retry.Raw);
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, await Api.HistoryCountAsync("T-3"));
    }

    [Fact]
    public async Task Fill_RetriedWithSameIdempotencyKey_FillsOnce()
    {
        await Api.CreateAsync("T-4", quantity: "10");

        var first = await Api.PostAsync("/v1/trades/T-4/fill", """{"quantity":"4","price":"10"}""", idempotencyKey: "fill-4");
        var retry = await Api.PostAsync("/v1/trades/T-4/fill", """{"quantity":"4","price":"10"}""", idempotencyKey: "fill-4");

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.OK, retry.Status);
        Assert.Equal(first.Raw, retry.Raw);
        Assert.Equal("4", (await Api.GetAsync("/v1/trades/T-4")).RawOf("filledQuantity"));
        Assert.Equal(2, await Api.HistoryCountAsync("T-4"));
    }

    /// <summary>
    /// Only a command that was applied keeps its key (the key is stored with its journal event): a refused one leaves
    /// nothing, so sending it again is decided again, here applied once an amend made room (docs/api.md, "Idempotency").
    /// </summary>
    [Fact]
    public async Task Fill_RefusedWithIdempotencyKey_KeyNotKeptSoTheSameRequestIsDecidedAgain()
    {
        await Api.CreateAsync("T-4R", quantity: "10");

        var refused = await Api.PostAsync("/v1/trades/T-4R/fill", """{"quantity":"15","price":"10"}""", idempotencyKey: "fill-4r");
        await Api.PostAsync("/v1/trades/T-4R/amend", """{"expectedVersion":1,"quantity":"20"}""");
        var again = await Api.PostAsync("/v1/trades/T-4R/fill", """{"quantity":"15","price":"10"}""", idempotencyKey: "fill-4r");
        var replay = await Api.PostAsync("/v1/trades/T-4R/fill", """{"quantity":"15","price":"10"}""", idempotencyKey: "fill-4r");

        Assert.Equal((400, "quantity"), (refused.Code, refused.Field));
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.False(again.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("15", again.RawOf("filledQuantity"));
        Assert.Equal((HttpStatusCode.OK, again.Raw), (replay.Status, replay.Raw));
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(3, await Api.HistoryCountAsync("T-4R"));
    }

    /// <summary>
    /// By design <c>null</c> in an amend keeps the value (docs/api.md, "Trade lifecycle"): a client that writes every
    /// property, unset ones as <c>null</c>, must not wipe the venue and trader with a price amend.
    /// </summary>
    [Fact]
    public async Task Amend_VenueAndTraderNull_KeptAndAnAmendOfOnlyNullsRefusedSayingTheyCannotBeCleared()
    {
        await Api.CreateAsync("T-NULL", extra: ",\"venue\":\"XNAS\",\"trader\":\"ann\"");

        var amended = await Api.PostAsync("/v1/trades/T-NULL/amend", """{"expectedVersion":1,"price":"11","venue":null,"trader":null,"executedAt":null}""");
        var onlyNulls = await Api.PostAsync("/v1/trades/T-NULL/amend", """{"expectedVersion":2,"venue":null,"trader":null}""");

        Assert.Equal(HttpStatusCode.OK, amended.Status);
        Assert.Equal(("11", "XNAS", "ann"), (amended.RawOf("price"), amended.Body.GetProperty("venue").GetString(), amended.Body.GetProperty("trader").GetString()));
        Assert.Equal((400, "body"), (onlyNulls.Code, onlyNulls.Field));
        Assert.Contains("a venue or trader cannot be cleared", onlyNulls.Body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, await Api.HistoryCountAsync("T-NULL"));
    }

    [Fact]
    public async Task Amend_32ConcurrentWithSameExpectedVersion_ExactlyOneSucceeds()
    {
        await Api.CreateAsync("T-5");

        var answers = await Task.WhenAll(Enumerable.Range(1, 32).Select(i =>
            Api.PostAsync("/v1/trades/T-5/amend", $$"""{"expectedVersion":1,"price":"{{i}}.25"}""")));

        Assert.Single(answers, a => a.Status == HttpStatusCode.OK);
        var conflicts = answers.Where(a => a.Status != HttpStatusCode.OK).ToList();
        Assert.Equal(31, conflicts.Count);
        Assert.All(conflicts, c =>
        {
            Assert.Equal(HttpStatusCode.Conflict, c.Status);
            Assert.Equal("application/problem+json", c.ContentType);
            Assert.Equal("urn:tradestore:problem:version-conflict", c.ProblemType);
            Assert.Equal("expectedVersion", c.Field);
            Assert.Equal(2, c.Body.GetProperty("currentVersion").GetInt64());
        });
        var winner = answers.Single(a => a.Status == HttpStatusCode.OK);
        Assert.Equal(winner.Raw, (await Api.GetAsync("/v1/trades/T-5")).Raw);
        Assert.Equal(2, await Api.HistoryCountAsync("T-5"));
    }

    [Fact]
    public async Task Cancel_EmptyBodyAndStaleVersion_ConflictNamesCurrentVersion()
    {
        await Api.CreateAsync("T-6");
        await Api.PostAsync("/v1/trades/T-6/amend", """{"expectedVersion":1,"trader":"bob"}""");

        var stale = await Api.PostAsync("/v1/trades/T-6/cancel", """{"expectedVersion":1}""");

        Assert.Equal(HttpStatusCode.Conflict, stale.Status);
        Assert.Equal(2, stale.Body.GetProperty("currentVersion").GetInt64());
        Assert.Equal("new", (await Api.GetAsync("/v1/trades/T-6")).Body.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Fill_CancelledTrade_ConflictInvalidTransitionNamingStatusAndWhatIsAllowed()
    {
        await Api.CreateAsync("T-7");
        await Api.PostAsync("/v1/trades/T-7/cancel", "{}");

        var fill = await Api.PostAsync("/v1/trades/T-7/fill", """{"quantity":"1","price":"1"}""");

        Assert.Equal(HttpStatusCode.Conflict, fill.Status);
        Assert.Equal("urn:tradestore:problem:invalid-transition", fill.ProblemType);
        Assert.Equal("status", fill.Field);
        Assert.Equal(2, fill.Body.GetProperty("currentVersion").GetInt64());
        Assert.Equal("Cannot fill trade T-7: it is cancelled; fill needs status new or partially_filled. A cancelled trade can only be deleted.",
            fill.Body.GetProperty("detail").GetString());
        Assert.Equal(2, await Api.HistoryCountAsync("T-7"));
    }

    /// <summary>
    /// A command on a trade deleted a moment ago was told it "does not exist"; the one 404 of unknown, deleted and
    /// other accounts' trades now names deletion, in the same words for each (nothing is revealed).
    /// </summary>
    [Fact]
    public async Task Amend_DeletedOrUnknownTrade_NotFoundNamingDeletionInTheSameWords()
    {
        await Api.CreateAsync("T-DEL");
        await Api.DeleteAsync("/v1/trades/T-DEL");

        var deleted = await Api.PostAsync("/v1/trades/T-DEL/amend", """{"expectedVersion":2,"price":"1"}""");
        var read = await Api.GetAsync("/v1/trades/T-DEL");
        var unknown = await Api.PostAsync("/v1/trades/T-NEVER/amend", """{"expectedVersion":1,"price":"1"}""");

        foreach (var (answer, id) in new[] { (deleted, "T-DEL"), (read, "T-DEL"), (unknown, "T-NEVER") })
        {
            Assert.Equal((404, "urn:tradestore:problem:not-found", "tradeId"), (answer.Code, answer.ProblemType, answer.Field));
            Assert.Equal($"Trade {id} does not exist or was deleted.", answer.Body.GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task Create_ExistingTradeId_Conflict()
    {
        await Api.CreateAsync("T-8");

        var again = await Api.PostAsync("/v1/trades", ApiClient.CreateBody("T-8", quantity: "5"));

        Assert.Equal(HttpStatusCode.Conflict, again.Status);
        Assert.Equal("urn:tradestore:problem:already-exists", again.ProblemType);
        Assert.Equal("tradeId", again.Field);
        Assert.Equal("100", (await Api.GetAsync("/v1/trades/T-8")).RawOf("quantity"));
    }

    [Fact]
    public async Task Positions_AfterFills_NetQuantityAndAveragePriceExact()
    {
        await Api.CreateAsync("P-1", quantity: "10", account: "POS", symbol: "MSFT", side: "buy");
        await Api.CreateAsync("P-2", quantity: "4", account: "POS", symbol: "MSFT", side: "sell");
        await Api.PostAsync("/v1/trades/P-1/fill", """{"quantity":"3","price":"100.1"}""");
        await Api.PostAsync("/v1/trades/P-1/fill", """{"quantity":"7","price":"100.00000001"}""");
        await Api.PostAsync("/v1/trades/P-2/fill", """{"quantity":"4","price":"101"}""");

        var positions = await Api.GetAsync("/v1/positions?account=POS");

        Assert.Equal(HttpStatusCode.OK, positions.Status);
        var position = Assert.Single(positions.Body.GetProperty("items").EnumerateArray());
        Assert.Equal("MSFT", position.GetProperty("symbol").GetString());
        Assert.Equal("6", position.GetProperty("netQuantity").GetRawText());
        // (3 × 100.1 + 7 × 100.00000001) / 10 = 100.030000007 → 8 decimals, half to even.
        Assert.Equal("100.03000001", position.GetProperty("averagePrice").GetRawText());
        Assert.Equal("10", position.GetProperty("boughtQuantity").GetRawText());
        Assert.Equal("4", position.GetProperty("soldQuantity").GetRawText());
        Assert.Equal("404", position.GetProperty("soldNotional").GetRawText());
    }

    /// <summary>
    /// docs/api.md, "Trade lifecycle": positions and averageFillPrice come from the fills alone, so an amend of the trade's
    /// price or quantity moves neither; a cancel keeps the quantity ordered and the fills' part of the position; a delete
    /// takes out exactly what the trade's fills added.
    /// </summary>
    [Fact]
    public async Task Positions_AmendCancelDelete_EqualTheLiveFillsByHand()
    {
        await Api.CreateAsync("PA-1", quantity: "10", price: "50", account: "POS-A", symbol: "IBM", side: "buy");
        await Api.CreateAsync("PA-2", quantity: "6", price: "52", account: "POS-A", symbol: "IBM", side: "sell");
        await Api.PostAsync("/v1/trades/PA-1/fill", """{"quantity":"4","price":"50.5"}""");
        await Api.PostAsync("/v1/trades/PA-2/fill", """{"quantity":"6","price":"52"}""");

        var amended = await Api.PostAsync("/v1/trades/PA-1/amend", """{"expectedVersion":2,"price":"99","quantity":"8"}""");
        Assert.Equal((HttpStatusCode.OK, "partially_filled", "50.5"), (amended.Status, amended.Body.GetProperty("status").GetString(), amended.RawOf("averageFillPrice")));
        // Short 2: sold 6 at 52, bought 4 at 50.5; the amend's 99 is the trade's own term, no fill's price.
        Assert.Equal(("-2", "52", "202", "312"), await PositionAsync("POS-A", "IBM"));

        await Api.PostAsync("/v1/trades/PA-1/fill", """{"quantity":"1","price":"49"}""");
        var cancelled = await Api.PostAsync("/v1/trades/PA-1/cancel", null);
        Assert.Equal(("cancelled", "8", "5"), (cancelled.Body.GetProperty("status").GetString(), cancelled.RawOf("quantity"), cancelled.RawOf("filledQuantity")));
        // Short 1: the cancelled trade's 5 bought (4 × 50.5 + 1 × 49 = 251) stay.
        Assert.Equal(("-1", "52", "251", "312"), await PositionAsync("POS-A", "IBM"));

        Assert.Equal(HttpStatusCode.OK, (await Api.DeleteAsync("/v1/trades/PA-2")).Status);
        // Long 5 at 251 / 5 = 50.2: the sells left with their trade.
        Assert.Equal(("5", "50.2", "251", "0"), await PositionAsync("POS-A", "IBM"));
    }

    /// <summary>docs/api.md, "Optimistic concurrency": on a fill and a cancel a null expectedVersion is the same as none; an amend requires one.</summary>
    [Fact]
    public async Task ExpectedVersionNull_FillAndCancelApplyAtAnyVersionAndAnAmendIsRefusedNamingIt()
    {
        await Api.CreateAsync("EV-1", quantity: "10");
        await Api.PostAsync("/v1/trades/EV-1/amend", """{"expectedVersion":1,"price":"11"}""");

        var amend = await Api.PostAsync("/v1/trades/EV-1/amend", """{"expectedVersion":null,"price":"12"}""");
        var fill = await Api.PostAsync("/v1/trades/EV-1/fill", """{"quantity":"1","price":"11","expectedVersion":null}""");
        var cancel = await Api.PostAsync("/v1/trades/EV-1/cancel", """{"expectedVersion":null}""");

        Assert.Equal((400, "expectedVersion"), (amend.Code, amend.Field));
        Assert.Equal((HttpStatusCode.OK, 3L), (fill.Status, fill.Version));
        Assert.Equal((HttpStatusCode.OK, 4L), (cancel.Status, cancel.Version));
    }

    /// <summary>docs/api.md, "Trade lifecycle": the characters of account and symbol, and account, symbol and side fixed at create.</summary>
    [Fact]
    public async Task AccountSymbolAndSide_SpellingRefusedNamingTheFieldAndAnAmendOfThemRefused()
    {
        Assert.Equal((400, "account"), await RefusalAsync(ApiClient.CreateBody("SP-1", account: "ACC 1")));
        Assert.Equal((400, "symbol"), await RefusalAsync(ApiClient.CreateBody("SP-1", symbol: "M&M.NS")));
        Assert.Equal((400, "symbol"), await RefusalAsync(ApiClient.CreateBody("SP-1", symbol: new string('S', 33))));
        Assert.Equal(HttpStatusCode.Created, (await Api.PostAsync("/v1/trades", ApiClient.CreateBody("SP-1", symbol: "EUR/USD"))).Status);

        var single = await Api.PostAsync("/v1/trades/SP-1/amend", """{"expectedVersion":1,"account":"ACC-2"}""");
        var batch = await Api.PostAsync("/v1/trades/batch", """[{"type":"amend","tradeId":"SP-1","expectedVersion":1,"side":"sell"}]""");

        Assert.Equal((400, "account", "urn:tradestore:problem:unknown-property"), (single.Code, single.Field, single.ProblemType));
        var problem = batch.Body.GetProperty("results")[0].GetProperty("problem");
        Assert.Equal(("side", "urn:tradestore:problem:validation"), (problem.GetProperty("field").GetString(), problem.GetProperty("type").GetString()));
        Assert.Equal(1, await Api.HistoryCountAsync("SP-1"));
    }

    private async Task<(int Code, string? Field)> RefusalAsync(string createBody)
    {
        var answer = await Api.PostAsync("/v1/trades", createBody);
        return (answer.Code, answer.Field);
    }

    /// <summary>(netQuantity, averagePrice, boughtNotional, soldNotional) of one position, as the server wrote them.</summary>
    private async Task<(string Net, string Average, string Bought, string Sold)> PositionAsync(string account, string symbol)
    {
        var answer = await Api.GetAsync($"/v1/positions?account={account}");
        var p = answer.Body.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("symbol").GetString() == symbol);
        return (p.GetProperty("netQuantity").GetRawText(), p.GetProperty("averagePrice").GetRawText(), p.GetProperty("boughtNotional").GetRawText(),
            p.GetProperty("soldNotional").GetRawText());
    }

    [Fact]
    public async Task Create_OverlongIdempotencyKey_ProblemNamesTheHeader()
    {
        var answer = await Api.PostAsync("/v1/trades", ApiClient.CreateBody("T-9"), idempotencyKey: new string('k', 129));

        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal("Idempotency-Key", answer.Field);
        Assert.Equal(HttpStatusCode.NotFound, (await Api.GetAsync("/v1/trades/T-9")).Status);
    }

    [Fact]
    public async Task Create_IdempotencyKeyOf128Characters_AcceptedAndReplayed()
    {
        // The limit is the caller's key: the namespace and fingerprint the writer stores it with do not count.
        var key = new string('k', 128);

        var first = await Api.PostAsync("/v1/trades", ApiClient.CreateBody("T-10"), idempotencyKey: key);
        var retry = await Api.PostAsync("/v1/trades", ApiClient.CreateBody("T-10"), idempotencyKey: key);

        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.Equal(HttpStatusCode.Created, retry.Status);
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(1, await Api.HistoryCountAsync("T-10"));
    }
}
