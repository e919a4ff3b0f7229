using System.Net;
using System.Text.Json;

namespace TradeStore.Server.Tests;

/// <summary>
/// <c>GET /v1/trades/{id}/history</c> answers keyset pages of <c>limit</c> events (default <c>Api:DefaultPageSize</c>),
/// oldest first, with <c>nextCursor</c>: a trade amended or filled thousands of times no longer answers every event at once.
/// </summary>
public sealed class HistoryPagingTests : ApiTestBase
{
    protected override Dictionary<string, string> Environment => new()
    {
        ["TRADESTORE__API__MAXPAGESIZE"] = "10",
        ["TRADESTORE__API__DEFAULTPAGESIZE"] = "4",
    };

    [Fact]
    public async Task History_MoreEventsThanAPage_FirstPageByDefaultThenEveryEventOnceInOrderByCursor()
    {
        await CreateWithAmendsAsync("HP-1", amends: 11);

        // The default answer: the first Api:DefaultPageSize events, oldest first, as before but cut.
        var first = await Api.GetAsync("/v1/trades/HP-1/history");
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal("HP-1", first.Body.GetProperty("tradeId").GetString());
        Assert.Equal([1L, 2, 3, 4], Versions(first));
        var cursor = NextCursor(first);
        Assert.NotNull(cursor);

        var seen = Versions(first);
        var pages = new List<int> { seen.Count };
        while (cursor is not null)
        {
            var page = await Api.GetAsync($"/v1/trades/HP-1/history?limit=5&cursor={Uri.EscapeDataString(cursor)}");
            Assert.Equal(HttpStatusCode.OK, page.Status);
            seen.AddRange(Versions(page));
            pages.Add(Versions(page).Count);
            cursor = NextCursor(page);
        }

        Assert.Equal([4, 5, 3], pages);
        Assert.Equal(Enumerable.Range(1, 12).Select(v => (long)v), seen);
    }

    [Fact]
    public async Task History_ExactlyOnePageOfEvents_NoNextCursor()
    {
        await CreateWithAmendsAsync("HP-2", amends: 3);

        var page = await Api.GetAsync("/v1/trades/HP-2/history");

        Assert.Equal([1L, 2, 3, 4], Versions(page));
        Assert.Equal(JsonValueKind.Null, page.Body.GetProperty("nextCursor").ValueKind);
    }

    [Fact]
    public async Task History_EventsAddedWhilePaging_LaterPagesHoldThemWithoutRepeatOrGap()
    {
        await CreateWithAmendsAsync("HP-3", amends: 3);
        var first = await Api.GetAsync("/v1/trades/HP-3/history?limit=3");
        Assert.Equal([1L, 2, 3], Versions(first));

        await AmendAsync("HP-3", version: 4, times: 2);
        var second = await Api.GetAsync($"/v1/trades/HP-3/history?limit=10&cursor={Uri.EscapeDataString(NextCursor(first)!)}");

        Assert.Equal([4L, 5, 6], Versions(second));
        Assert.Null(NextCursor(second));
    }

    [Fact]
    public async Task History_CursorOfAnotherTradeOrOfAList_400NamingCursorAndNoEvents()
    {
        await CreateWithAmendsAsync("HP-4", amends: 5);
        await CreateWithAmendsAsync("HP-5", amends: 5);
        var other = NextCursor(await Api.GetAsync("/v1/trades/HP-5/history?limit=2"))!;
        var list = NextCursor(await Api.GetAsync("/v1/trades?limit=1"))!;

        foreach (var cursor in new[] { other, list, other[..^1] })
        {
            var answer = await Api.GetAsync($"/v1/trades/HP-4/history?cursor={Uri.EscapeDataString(cursor)}");
            Assert.Equal(400, answer.Code);
            Assert.Equal("urn:tradestore:problem:validation", answer.ProblemType);
            Assert.Equal("cursor", answer.Field);
            Assert.Contains("another trade's history", answer.Body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task History_DeletedTradePaged_EveryEventReadableAndUnknownTradeStill404()
    {
        await CreateWithAmendsAsync("HP-6", amends: 4);
        Assert.Equal(HttpStatusCode.OK, (await Api.DeleteAsync("/v1/trades/HP-6?expectedVersion=5")).Status);

        Assert.Equal(6, await Api.HistoryCountAsync("HP-6"));
        var last = await Api.GetAsync($"/v1/trades/HP-6/history?cursor={Uri.EscapeDataString(NextCursor(await Api.GetAsync("/v1/trades/HP-6/history"))!)}");
        Assert.Equal("delete", last.Body.GetProperty("items")[1].GetProperty("type").GetString());
        Assert.Equal(404, (await Api.GetAsync("/v1/trades/HP-NONE/history?limit=1")).Code);
    }

    [Fact]
    public async Task History_LimitOverMaxPageSize_400NamingLimitWithTheMaximum()
    {
        await Api.CreateAsync("HP-7");

        var answer = await Api.GetAsync("/v1/trades/HP-7/history?limit=11");

        Assert.Equal(400, answer.Code);
        Assert.Equal("limit", answer.Field);
        Assert.Contains("from 1 to 10 (Api:MaxPageSize)", answer.Body.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private async Task CreateWithAmendsAsync(string tradeId, int amends)
    {
        await Api.CreateAsync(tradeId, quantity: "1000", price: "1");
        await AmendAsync(tradeId, version: 1, times: amends);
    }

    private async Task AmendAsync(string tradeId, long version, int times)
    {
        for (var i = 0; i < times; i++, version++)
        {
            var amended = await Api.PostAsync($"/v1/trades/{tradeId}/amend", $$"""{"expectedVersion":{{version}},"price":"{{version + 1}}"}""");
            Assert.True(amended.Status == HttpStatusCode.OK, amended.Raw);
        }
    }

    private static List<long> Versions(ApiAnswer answer) =>
        [.. answer.Body.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("version").GetInt64())];

    private static string? NextCursor(ApiAnswer answer) => answer.Body.GetProperty("nextCursor").GetString();
}
