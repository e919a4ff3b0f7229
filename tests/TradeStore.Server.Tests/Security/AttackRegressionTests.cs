using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TradeStore.Core.Trades;
using TradeStore.Server.Security;

namespace TradeStore.Server.Tests.Security;

/// <summary>
/// The write-side requests of the attack run of issue #19 (findings 3, 5, 7 and 10), replayed with scoped keys of two
/// accounts against the real host. Each one was answered wrongly before its fix; the SQL ones are in <see cref="AttackQueryTests"/>.
/// </summary>
public sealed class AttackRegressionTests(SecuredHost host) : IClassFixture<SecuredHost>
{
    // Finding 3: a key of ACC-A reusing ACC-B's Idempotency-Key got 201 Idempotent-Replayed with the whole ACC-B trade.
    [Fact]
    public async Task Create_OtherCallersIdempotencyKey_OwnTradeWrittenNotTheirsReplayed()
    {
        var b = host.Client(Caller.TraderB);
        var a = host.Client(Caller.TraderA);
        Assert.Equal(201, (await b.PostAsync("/v1/trades", ApiClient.CreateBody("IK-B1", account: "ACC-B"), idempotencyKey: "order-ACCB-1")).Code);

        var answer = await a.PostAsync("/v1/trades", ApiClient.CreateBody("IK-A1", account: "ACC-A"), idempotencyKey: "order-ACCB-1");

        Assert.Equal(201, answer.Code);
        Assert.False(answer.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("/v1/trades/IK-A1", answer.Headers.Location?.ToString());
        Assert.Equal("ACC-A", answer.Body.GetProperty("account").GetString());
        Assert.DoesNotContain("ACC-B", answer.Raw, StringComparison.Ordinal);
    }

    // Finding 3: a desk that used another desk's key first made that desk's create a "replay" that was never written.
    [Fact]
    public async Task Create_KeySquattedByOtherDesk_OtherDeskStillWritten()
    {
        var squatter = host.Client(Caller.TraderA);
        var desk = host.Client(Caller.TraderB);
        Assert.Equal(201, (await squatter.PostAsync("/v1/trades", ApiClient.CreateBody("SQ-A1", account: "ACC-A"), idempotencyKey: "desk3-order-X")).Code);

        var answer = await desk.PostAsync("/v1/trades", ApiClient.CreateBody("SQ-B1", account: "ACC-B"), idempotencyKey: "desk3-order-X");

        Assert.Equal(201, answer.Code);
        Assert.False(answer.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(200, (await host.Client(Caller.Admin).GetAsync("/v1/trades/SQ-B1")).Code);
    }

    // Finding 3: the same through cancel and batch items.
    [Fact]
    public async Task CancelAndBatch_OtherCallersIdempotencyKey_NotReplayed()
    {
        var a = host.Client(Caller.TraderA);
        var b = host.Client(Caller.TraderB);
        await a.CreateAsync("CX-A1", account: "ACC-A");
        await b.CreateAsync("CX-B1", account: "ACC-B");
        Assert.Equal(200, (await b.PostAsync("/v1/trades/CX-B1/cancel", null, idempotencyKey: "cancel-1")).Code);

        var cancel = await a.PostAsync("/v1/trades/CX-A1/cancel", null, idempotencyKey: "cancel-1");
        var batch = await a.PostAsync("/v1/trades/batch",
            $$"""[{"type":"create","tradeId":"CX-A2","account":"ACC-A","symbol":"AAPL","side":"buy","quantity":1,"price":1,"idempotencyKey":"cancel-1"}]""");

        Assert.Equal(200, cancel.Code);
        Assert.Equal("CX-A1", cancel.Body.GetProperty("tradeId").GetString());
        Assert.Equal("cancelled", cancel.Body.GetProperty("status").GetString());
        Assert.False(cancel.Headers.Contains("Idempotent-Replayed"));
        // The key was A's own, used for the cancel: the batch create is a different request.
        var item = batch.Body.GetProperty("results")[0];
        Assert.Equal(422, item.GetProperty("status").GetInt32());
        Assert.Equal("urn:tradestore:problem:idempotency-key-reused", item.GetProperty("problem").GetProperty("type").GetString());
        Assert.Equal(404, (await host.Client(Caller.Admin).GetAsync("/v1/trades/CX-A2")).Code);
    }

    [Fact]
    public async Task Create_SameKeyOtherTradeOrBody_422IdempotencyKeyReusedAndNothingWritten()
    {
        var a = host.Client(Caller.TraderA);
        Assert.Equal(201, (await a.PostAsync("/v1/trades", ApiClient.CreateBody("RU-A1", account: "ACC-A"), idempotencyKey: "reuse-1")).Code);

        var otherTrade = await a.PostAsync("/v1/trades", ApiClient.CreateBody("RU-A2", account: "ACC-A"), idempotencyKey: "reuse-1");
        var otherBody = await a.PostAsync("/v1/trades", ApiClient.CreateBody("RU-A1", quantity: "7", account: "ACC-A"), idempotencyKey: "reuse-1");
        var retry = await a.PostAsync("/v1/trades", ApiClient.CreateBody("RU-A1", quantity: "100.00", account: "ACC-A"), idempotencyKey: "reuse-1");

        Assert.Equal(422, otherTrade.Code);
        Assert.Equal("urn:tradestore:problem:idempotency-key-reused", otherTrade.ProblemType);
        Assert.Equal("Idempotency-Key", otherTrade.Field);
        Assert.Equal(422, otherBody.Code);
        Assert.Equal(201, retry.Code);
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(404, (await host.Client(Caller.Admin).GetAsync("/v1/trades/RU-A2")).Code);
        Assert.Equal(1, await host.Client(Caller.Admin).HistoryCountAsync("RU-A1"));
    }

    [Fact]
    public async Task History_IdempotencyKey_AsTheClientSentIt()
    {
        var a = host.Client(Caller.TraderA);
        Assert.Equal(201, (await a.PostAsync("/v1/trades", ApiClient.CreateBody("HK-A1", account: "ACC-A"), idempotencyKey: "hist:key-1")).Code);

        var history = await a.GetAsync("/v1/trades/HK-A1/history");

        Assert.Equal("hist:key-1", history.Body.GetProperty("items")[0].GetProperty("idempotencyKey").GetString());
    }

    // Finding 3: a replay re-checks access (a key's accounts may have changed since the first request).
    [Fact]
    public void Screen_ReplayOfTradeOutsideScope_NotFound()
    {
        var context = new DefaultHttpContext { User = new ClaimsPrincipal(new ClaimsIdentity(AccountScope.Of(["ACC-A"]).ToClaims(), "test")) };
        var trade = new Trade("T-B", "ACC-B", "AAPL", Side.Buy, 1, 1, 0, 0, TradeStatus.New, null, null, DateTimeOffset.UnixEpoch, 1, 1, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);

        var screened = AccountAccess.Screen(context, new NoTrades(), new CreateTrade("T-B", "ACC-A", "AAPL", Side.Buy, 1, 1), CommandResult.Replay(trade));

        Assert.Equal(CommandErrorKind.NotFound, screened.Error?.Kind);
        Assert.Null(screened.Trade);
    }

    // Finding 7: "may not write trades of account ACC-B" (403) against 404 for an unknown id told which ids exist.
    [Theory]
    [InlineData("POST", "/v1/trades/{0}/amend", """{"expectedVersion":1,"price":2}""")]
    [InlineData("POST", "/v1/trades/{0}/fill", """{"quantity":1,"price":1}""")]
    [InlineData("POST", "/v1/trades/{0}/cancel", null)]
    [InlineData("DELETE", "/v1/trades/{0}", null)]
    public async Task Command_OtherAccountsTrade_SameAnswerAsUnknownTrade(string method, string path, string? body)
    {
        var a = host.Client(Caller.TraderA);

        var other = await a.SendAsync(new HttpMethod(method), string.Format(System.Globalization.CultureInfo.InvariantCulture, path, "T-B"), body);
        var unknown = await a.SendAsync(new HttpMethod(method), string.Format(System.Globalization.CultureInfo.InvariantCulture, path, "NO-SUCH"), body);

        Assert.Equal(404, other.Code);
        Assert.Equal(unknown.Code, other.Code);
        Assert.Equal(unknown.Raw.Replace("NO-SUCH", "T-B", StringComparison.Ordinal), other.Raw);
        Assert.DoesNotContain("ACC-B", other.Raw, StringComparison.Ordinal);
    }

    // Finding 7: a create with another account's id answered 409 with its currentVersion.
    [Fact]
    public async Task Create_IdOfOtherAccountsTrade_409WithoutVersionOrAccount()
    {
        var a = host.Client(Caller.TraderA);
        await host.Client(Caller.Admin).PostAsync("/v1/trades/T-B/fill", """{"quantity":1,"price":1}""");

        var answer = await a.PostAsync("/v1/trades", ApiClient.CreateBody("T-B", account: "ACC-A"));

        Assert.Equal(409, answer.Code);
        Assert.Equal("urn:tradestore:problem:already-exists", answer.ProblemType);
        Assert.False(answer.Body.TryGetProperty("currentVersion", out var version) && version.ValueKind != JsonValueKind.Null, answer.Raw);
        Assert.DoesNotContain("ACC-B", answer.Raw, StringComparison.Ordinal);
        Assert.DoesNotContain("version", answer.Body.GetProperty("detail").GetString()!, StringComparison.OrdinalIgnoreCase);
    }

    // Finding 5: a property named "a[" gave 500 on every write endpoint, and failed a whole batch.
    [Theory]
    [InlineData("/v1/trades", """{"a[":1}""", "a[")]
    [InlineData("/v1/trades/T-A/amend", """{"a[":1}""", "a[")]
    [InlineData("/v1/trades/T-A/fill", """{"x']":1}""", "x']")]
    [InlineData("/v1/trades/T-A/cancel", """{"a.b[":1}""", "a.b[")]
    public async Task Write_PropertyNameWithJsonPathMetacharacters_400NamingIt(string path, string body, string field)
    {
        var answer = await host.Client(Caller.Admin).PostAsync(path, body);

        Assert.Equal(400, answer.Code);
        Assert.Equal("urn:tradestore:problem:unknown-property", answer.ProblemType);
        Assert.Equal(field, answer.Field);
    }

    [Fact]
    public async Task Batch_OneItemWithPropertyA_OnlyThatItemRefused()
    {
        var answer = await host.Client(Caller.Admin).PostAsync("/v1/trades/batch",
            $"[{ApiClient.CreateBody("MC-1", account: "ACC-A")},{{\"tradeId\":\"MC-2\",\"a[\":1}}]");

        Assert.Equal(200, answer.Code);
        var results = answer.Body.GetProperty("results");
        Assert.Equal(201, results[0].GetProperty("status").GetInt32());
        Assert.Equal(400, results[1].GetProperty("status").GetInt32());
    }

    // Finding 10: ids no path can address.
    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    public async Task Create_DotTradeId_400NamingTradeId(string tradeId)
    {
        var answer = await host.Client(Caller.Admin).PostAsync("/v1/trades", ApiClient.CreateBody(tradeId, account: "ACC-A"));

        Assert.Equal(400, answer.Code);
        Assert.Equal("tradeId", answer.Field);
    }

    private sealed class NoTrades : ITradeQueries
    {
        public Trade? GetTrade(string tradeId) => null;

        public TradeHistoryPage GetHistory(string tradeId, int limit, string? cursor = null) => new(null, [], null);

        public TradePage ListTrades(TradeFilter filter) => throw new NotSupportedException();

        public PositionPage GetPositions(PositionFilter filter) => new([], null, 0);
    }
}
