using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using TradeStore.Core.Security;

namespace TradeStore.Server.Tests;

/// <summary>
/// <c>GET /v1/positions</c> answers keyset pages of <c>limit</c> positions (default <c>Api:DefaultPageSize</c>) by
/// account then symbol, with <c>nextCursor</c>: without an account it answered every position of every account in one
/// body (10,000 accounts × 20 symbols: 200,000 positions, tens of MB held and written at once).
/// </summary>
public sealed class PositionsPagingTests : ApiTestBase
{
    private const int Accounts = 6;
    private const int SymbolsEach = 7;

    protected override Dictionary<string, string> Environment => new()
    {
        ["TRADESTORE__API__MAXPAGESIZE"] = "10",
        ["TRADESTORE__API__DEFAULTPAGESIZE"] = "4",
    };

    /// <summary>
    /// Pages read while fills move positions and new (account, symbol) positions appear before and after the cursor:
    /// each page is exactly the positions of its key range at its own <c>TradeStore-Seq</c> (so none existing is skipped),
    /// and a walk never repeats a position or goes back in (account, symbol) order.
    /// </summary>
    [Fact]
    public async Task Positions_PagedWhileFillsAndNewPositionsCommit_EachPageExactAtItsSeq_EveryPositionOnceInOrder()
    {
        var fills = new List<(long Seq, string Account, string Symbol)>();
        var setup = new StringBuilder();
        for (var a = 0; a < Accounts; a++)
        {
            for (var s = 0; s < SymbolsEach; s++)
            {
                AppendCreateAndFill(setup, Account(a), $"S{s * 10:D2}");
            }
        }

        await BatchAsync(setup.ToString(), fills);

        var writing = true;
        var writer = Task.Run(async () =>
        {
            try
            {
                for (var round = 0; round < 30; round++)
                {
                    // Fill every trade so far once, and every third round give each account a new symbol: S05 … S55 fall between
                    // two it has (before or after a walk's cursor), S65 … S95 after them all.
                    var batch = new StringBuilder();
                    foreach (var (account, symbol) in fills.Select(f => (f.Account, f.Symbol)).Distinct().ToList())
                    {
                        batch.Append(CultureInfo.InvariantCulture, $$"""{"type":"fill","tradeId":"{{TradeId(account, symbol)}}","quantity":1,"price":2}""").Append('\n');
                    }

                    if (round % 3 == 0)
                    {
                        for (var a = 0; a < Accounts; a++)
                        {
                            AppendCreateAndFill(batch, Account(a), $"S{(round / 3 * 10) + 5:D2}");
                        }
                    }

                    await BatchAsync(batch.ToString(), fills);
                }
            }
            finally
            {
                Volatile.Write(ref writing, false);
            }
        }, TestContext.Current.CancellationToken);

        var walks = new List<List<Page>>();
        while (Volatile.Read(ref writing) || walks.Count < 2)
        {
            walks.Add(await WalkAsync(limit: 5));
        }

        await writer;
        walks.Add(await WalkAsync(limit: 5));
        var wrong = new List<string>();
        foreach (var walk in walks)
        {
            var keys = walk.SelectMany(p => p.Items.Keys).ToList();
            for (var i = 1; i < keys.Count; i++)
            {
                if (Compare(keys[i - 1], keys[i]) >= 0)
                {
                    wrong.Add($"{keys[i - 1]} then {keys[i]} in one walk");
                }
            }

            for (var i = 0; i < walk.Count; i++)
            {
                var (page, after) = (walk[i], i == 0 ? null : walk[i - 1].Items.Keys.Last());
                var upTo = page.NextCursor is null ? null : page.Items.Keys.Last();
                var expected = fills
                    .Where(f => f.Seq <= page.Seq && (after is null || Compare(Key(f), after) > 0) && (upTo is null || Compare(Key(f), upTo) <= 0))
                    .GroupBy(Key).ToDictionary(g => g.Key, g => (decimal)g.Count());
                if (expected.Count != page.Items.Count || expected.Any(e => !page.Items.TryGetValue(e.Key, out var bought) || bought != e.Value))
                {
                    wrong.Add($"page after {after ?? "the start"} at seq {page.Seq}: {string.Join(',', page.Items.Select(p => $"{p.Key}={p.Value}"))}; the journal gives {string.Join(',', expected.Select(p => $"{p.Key}={p.Value}"))}");
                }
            }
        }

        Assert.True(wrong.Count == 0, $"{wrong.Count} faults in {walks.Count} walks: {string.Join("; ", wrong.Take(5))}");
        Assert.Equal(Accounts * (SymbolsEach + 10), walks[^1].Sum(p => p.Items.Count));
    }

    [Fact]
    public async Task Positions_OneAccount_FirstPageByDefault_ThenTheRestByCursor()
    {
        var body = new StringBuilder();
        for (var s = 0; s < 6; s++)
        {
            AppendCreateAndFill(body, "ACC-ONE", $"S{s}");
        }

        AppendCreateAndFill(body, "ACC-OTHER", "S0");
        await BatchAsync(body.ToString(), []);

        var first = await Api.GetAsync("/v1/positions?account=ACC-ONE");
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(["S0", "S1", "S2", "S3"], Symbols(first));
        var second = await Api.GetAsync($"/v1/positions?account=ACC-ONE&limit=10&cursor={Uri.EscapeDataString(NextCursor(first)!)}");
        Assert.Equal(["S4", "S5"], Symbols(second));
        Assert.Null(NextCursor(second));

        // An account whose positions fit in one page answers them all, with no next page, as before paging.
        var other = await Api.GetAsync("/v1/positions?account=ACC-OTHER");
        Assert.Equal(["S0"], Symbols(other));
        Assert.Equal(JsonValueKind.Null, other.Body.GetProperty("nextCursor").ValueKind);
    }

    [Fact]
    public async Task Positions_BadLimitOrCursor_400NamingIt()
    {
        var body = new StringBuilder();
        foreach (var account in new[] { "ACC-X", "ACC-Y" })
        {
            for (var s = 0; s < 3; s++)
            {
                AppendCreateAndFill(body, account, $"S{s}");
            }
        }

        await BatchAsync(body.ToString(), []);

        foreach (var limit in new[] { "0", "11", "ten", "-1" })
        {
            var answer = await Api.GetAsync($"/v1/positions?limit={limit}");
            Assert.Equal((400, "limit"), (answer.Code, answer.Field));
            Assert.Contains("from 1 to 10 (Api:MaxPageSize)", answer.Body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        var ofX = NextCursor(await Api.GetAsync("/v1/positions?account=ACC-X&limit=1"))!;
        var ofAll = NextCursor(await Api.GetAsync("/v1/positions?limit=1"))!;
        var ofList = NextCursor(await Api.GetAsync("/v1/trades?limit=1"))!;
        await Api.CreateAsync("PH-1");
        await Api.PostAsync("/v1/trades/PH-1/amend", """{"expectedVersion":1,"price":"2"}""");
        var ofHistory = NextCursor(await Api.GetAsync("/v1/trades/PH-1/history?limit=1"))!;
        foreach (var (query, what) in new[]
        {
            ($"cursor={ofX}", "an account's cursor without the account"),
            ($"account=ACC-Y&cursor={ofX}", "an account's cursor with another account"),
            ($"account=ACC-X&cursor={ofAll}", "a cursor without account with one"),
            ($"cursor={ofX[..^1]}", "a cut cursor"),
            ($"cursor={ofList}", "a list's cursor"),
            ($"cursor={ofHistory}", "a history's cursor"),
            ("cursor=%21%21", "not base64url"),
        })
        {
            var answer = await Api.GetAsync($"/v1/positions?{query}");
            Assert.True(answer.Code == 400 && answer.Field == "cursor", $"{what}: {answer.Code} {answer.Raw}");
            Assert.Contains("another account filter", answer.Body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        // The same cursors where they belong.
        Assert.Equal(["S1"], Symbols(await Api.GetAsync($"/v1/positions?account=ACC-X&limit=1&cursor={ofX}")));
        Assert.Equal(["S1"], Symbols(await Api.GetAsync($"/v1/positions?limit=1&cursor={ofAll}")));
    }

    private async Task<List<Page>> WalkAsync(int limit)
    {
        var pages = new List<Page>();
        string? cursor = null;
        do
        {
            var answer = await Api.GetAsync($"/v1/positions?limit={limit}" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            Assert.True(answer.Status == HttpStatusCode.OK, answer.Raw);
            var items = answer.Body.GetProperty("items").EnumerateArray().ToDictionary(
                p => $"{p.GetProperty("account").GetString()}/{p.GetProperty("symbol").GetString()}",
                p => p.GetProperty("boughtQuantity").GetDecimal());
            cursor = NextCursor(answer);
            pages.Add(new Page(long.Parse(answer.Headers.GetValues("TradeStore-Seq").Single(), CultureInfo.InvariantCulture), items, cursor));
        }
        while (cursor is not null);
        return pages;
    }

    private async Task BatchAsync(string ndjson, List<(long Seq, string Account, string Symbol)> fills)
    {
        var answer = await Api.PostAsync("/v1/trades/batch", ndjson, "application/x-ndjson");
        Assert.True(answer.Code == 200 && answer.Body.GetProperty("failed").GetInt32() == 0, answer.Raw);
        foreach (var result in answer.Body.GetProperty("results").EnumerateArray())
        {
            var trade = result.GetProperty("trade");
            if (trade.GetProperty("version").GetInt64() > 1)
            {
                fills.Add((trade.GetProperty("lastSeq").GetInt64(), trade.GetProperty("account").GetString()!, trade.GetProperty("symbol").GetString()!));
            }
        }
    }

    private static void AppendCreateAndFill(StringBuilder batch, string account, string symbol)
    {
        batch.Append(ApiClient.CreateBody(TradeId(account, symbol), quantity: "100000", price: "1", account: account, symbol: symbol)).Append('\n');
        batch.Append(CultureInfo.InvariantCulture, $$"""{"type":"fill","tradeId":"{{TradeId(account, symbol)}}","quantity":1,"price":2}""").Append('\n');
    }

    private static string Account(int a) => $"ACC-P{a}";

    private static string TradeId(string account, string symbol) => $"{account}-{symbol}";

    private static string Key((long Seq, string Account, string Symbol) fill) => $"{fill.Account}/{fill.Symbol}";

    /// <summary>(account, symbol) order of two "account/symbol" keys; neither part holds a '/'.</summary>
    private static int Compare(string a, string b)
    {
        var (x, y) = (a.Split('/'), b.Split('/'));
        var byAccount = string.CompareOrdinal(x[0], y[0]);
        return byAccount != 0 ? byAccount : string.CompareOrdinal(x[1], y[1]);
    }

    private static List<string> Symbols(ApiAnswer answer) =>
        [.. answer.Body.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("symbol").GetString()!)];

    private static string? NextCursor(ApiAnswer answer) => answer.Body.GetProperty("nextCursor").GetString();

    private sealed record Page(long Seq, Dictionary<string, decimal> Items, string? NextCursor);
}

/// <summary>A key limited to some accounts pages through theirs alone, whatever cursor it is handed.</summary>
public sealed class ScopedPositionsPagingTests : ApiTestBase
{
    private static readonly (string Key, string Hash) Admin = ApiKeyHash.Generate();
    private static readonly (string Key, string Hash) Scoped = ApiKeyHash.Generate();

    protected override Dictionary<string, string> Environment => new()
    {
        ["TRADESTORE__API__MAXPAGESIZE"] = "10",
        ["TRADESTORE__API__DEFAULTPAGESIZE"] = "4",
        ["TRADESTORE__SECURITY__APIKEYS__0__NAME"] = "admin",
        ["TRADESTORE__SECURITY__APIKEYS__0__HASH"] = Admin.Hash,
        ["TRADESTORE__SECURITY__APIKEYS__0__ROLE"] = ApiRoles.Admin,
        ["TRADESTORE__SECURITY__APIKEYS__1__NAME"] = "desk",
        ["TRADESTORE__SECURITY__APIKEYS__1__HASH"] = Scoped.Hash,
        ["TRADESTORE__SECURITY__APIKEYS__1__ROLE"] = ApiRoles.Reader,
        ["TRADESTORE__SECURITY__APIKEYS__1__ACCOUNTS__0"] = "ACC-S3",
        ["TRADESTORE__SECURITY__APIKEYS__1__ACCOUNTS__1"] = "ACC-S1",
    };

    [Fact]
    public async Task Positions_ScopedKeyAcrossPages_OnlyItsAccountsInOrder_EvenFromAnAdminCursor()
    {
        var body = new StringBuilder();
        for (var a = 0; a < 5; a++)
        {
            for (var s = 0; s < 3; s++)
            {
                var (account, symbol) = ($"ACC-S{a}", $"S{s}");
                body.Append(ApiClient.CreateBody($"{account}-{symbol}", account: account, symbol: symbol)).Append('\n');
                body.Append(CultureInfo.InvariantCulture, $$"""{"type":"fill","tradeId":"{{account}}-{{symbol}}","quantity":1,"price":2}""").Append('\n');
            }
        }

        var created = await SendAsync(Admin.Key, HttpMethod.Post, "/v1/trades/batch", body.ToString());
        Assert.True(created.Code == 200 && created.Body.GetProperty("failed").GetInt32() == 0, created.Raw);

        var seen = await WalkAsync(Scoped.Key, "/v1/positions?limit=2");
        Assert.Equal(["ACC-S1/S0", "ACC-S1/S1", "ACC-S1/S2", "ACC-S3/S0", "ACC-S3/S1", "ACC-S3/S2"], seen);
        Assert.Equal(15, (await WalkAsync(Admin.Key, "/v1/positions?limit=10")).Count);

        // A cursor of the admin's walk that ends inside ACC-S2, which the key may not read: it resumes at its next account.
        var adminPage = await SendAsync(Admin.Key, HttpMethod.Get, "/v1/positions?limit=8");
        Assert.Equal("ACC-S2", adminPage.Body.GetProperty("items")[7].GetProperty("account").GetString());
        var resumed = await WalkAsync(Scoped.Key, $"/v1/positions?limit=2&cursor={Uri.EscapeDataString(adminPage.Body.GetProperty("nextCursor").GetString()!)}");
        Assert.Equal(["ACC-S3/S0", "ACC-S3/S1", "ACC-S3/S2"], resumed);

        var other = await SendAsync(Scoped.Key, HttpMethod.Get, "/v1/positions?account=ACC-S2&limit=2");
        Assert.Equal((403, "account"), (other.Code, other.Field));
    }

    private async Task<List<string>> WalkAsync(string key, string path)
    {
        var seen = new List<string>();
        var next = path;
        while (next is not null)
        {
            var answer = await SendAsync(key, HttpMethod.Get, next);
            Assert.True(answer.Status == HttpStatusCode.OK, answer.Raw);
            seen.AddRange(answer.Body.GetProperty("items").EnumerateArray().Select(p => $"{p.GetProperty("account").GetString()}/{p.GetProperty("symbol").GetString()}"));
            next = answer.Body.GetProperty("nextCursor").GetString() is { } cursor
                ? $"{path.Split("&cursor=")[0]}&cursor={Uri.EscapeDataString(cursor)}"
                : null;
        }

        return seen;
    }

    private async Task<ApiAnswer> SendAsync(string key, HttpMethod method, string path, string? ndjson = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (ndjson is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(ndjson));
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        }

        return await Api.SendAsync(request);
    }
}
