using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using PuppeteerSharp;
using TradeStore.Core.Trades;
using TradeStore.Server.Tests.Changes;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Console;

/// <summary>The operator console in real headless Chromium (Debian's <c>/usr/bin/chromium</c>) against the real host on Kestrel.</summary>
public sealed class ConsoleBrowserTests : IAsyncLifetime
{
    private readonly TempDirectory _profile = new("chromium");
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly ConcurrentQueue<string> _pageErrors = new(); // uncaught exceptions only (_errors has them too)
    private IBrowser? _browser;

    public async ValueTask InitializeAsync()
    {
        _browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = TestServers.Chromium,
            Headless = true,
            UserDataDir = _profile.Path,
            Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
            await _browser.DisposeAsync();
        }

        _profile.Dispose();
    }

    [Fact]
    public async Task Console_Loaded_NoConsoleErrorsAndEveryPanelFilled()
    {
        await using var host = await KestrelHost.StartAsync();
        var page = await OpenAsync(host, 1280, 800);

        await WaitForTextAsync(page, "dep-duckdb", "healthy");
        await WaitForTextAsync(page, "dep-redis", "disabled");
        await WaitForTextAsync(page, "feed-state", "live");
        await page.WaitForFunctionAsync("() => document.getElementById('writes-per-second').textContent !== '–'");
        await WaitForTextAsync(page, "health-overall", "healthy");

        // No writes: one decimal below 10 writes/s, so a trickle does not read as none.
        Assert.Equal("0.0", await page.EvaluateExpressionAsync<string>("document.getElementById('writes-per-second').textContent"));
        await WaitForTextAsync(page, "key-state", "no key (loopback default)");
        Assert.True(await page.EvaluateExpressionAsync<bool>("document.getElementById('dep-row-cluster').hidden"), "a cluster row on a node without a cluster");
        Assert.Empty(_errors);
        Assert.True(await FitsWidthAsync(page), "the page scrolls sideways at 1280×800");
    }

    [Fact]
    public async Task Console_TradeCreatedThroughApi_AppearsInLiveFeedWithinOneSecond()
    {
        await using var host = await KestrelHost.StartAsync();
        var page = await OpenAsync(host, 1280, 800);
        await WaitForTextAsync(page, "feed-state", "live");
        using var http = host.Client();

        using var created = await http.PostAsync("/v1/trades",
            new StringContent("""{"tradeId":"T-LIVE","account":"ACC-9","symbol":"MSFT","side":"sell","quantity":"5","price":"410.25"}""", Encoding.UTF8, "application/json"),
            TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);

        // The issue's bound: visible in the live feed within 1 s of the acknowledgement.
        await page.WaitForFunctionAsync("() => document.querySelector('#feed-rows tr[data-trade-id=\"T-LIVE\"]') !== null", new WaitForFunctionOptions { Timeout = 1000 });
        var row = await page.EvaluateExpressionAsync<string[]>("[...document.querySelector('#feed-rows tr[data-trade-id=\"T-LIVE\"]').cells].map(c => c.textContent)");
        Assert.Equal(["create", "T-LIVE", "ACC-9", "MSFT", "sell", "5", "410.25", "new"], row[2..]);
        Assert.Empty(_errors);
    }

    [Fact]
    public async Task Console_RedisPortClosed_HealthShowsRedisDegraded()
    {
        await using var host = await KestrelHost.StartAsync(new()
        {
            ["TRADESTORE__REDIS__CONNECTION"] = $"127.0.0.1:{FreePort.Next()}",
            ["TRADESTORE__REDIS__HEALTHTIMEOUT"] = "00:00:00.500",
        });
        var page = await OpenAsync(host, 1280, 800);

        await WaitForTextAsync(page, "dep-redis", "degraded");
        Assert.Equal("status degraded", await page.EvaluateExpressionAsync<string>("document.getElementById('dep-redis').className"));
        Assert.Equal("healthy", await page.EvaluateExpressionAsync<string>("document.getElementById('dep-duckdb').textContent"));
    }

    [Fact]
    public async Task Console_SqlBoxAndPositions_ShowTablesAndScreenshotIsSaved()
    {
        await using var host = await KestrelHost.StartAsync();
        await host.CreateAsync("D-", 1, 12, account: "DESK-1", symbol: "AAPL");
        await host.CreateAsync("E-", 1, 7, account: "DESK-2", symbol: "MSFT");
        for (var i = 1; i <= 3; i++)
        {
            Assert.True((await host.Commands.SubmitAsync(new FillTrade($"D-{i}", 10, 1.5m), TestContext.Current.CancellationToken)).Succeeded);
        }

        var page = await OpenAsync(host, 1280, 800);
        await WaitForTextAsync(page, "feed-state", "live");

        await page.ClickAsync("#sql-form button");
        await page.WaitForSelectorAsync("#sql-result tbody tr");
        var header = await page.EvaluateExpressionAsync<string[]>("[...document.querySelectorAll('#sql-result thead th')].map(c => c.textContent)");
        var first = await page.EvaluateExpressionAsync<string[]>("[...document.querySelector('#sql-result tbody tr').cells].map(c => c.textContent)");
        Assert.Equal(["account", "symbol", "trades"], header);
        Assert.Equal(["DESK-1", "AAPL", "12"], first);

        await page.TypeAsync("#positions-account", "DESK-1");
        await page.ClickAsync("#positions-form button");
        await page.WaitForSelectorAsync("#positions-rows tr");
        Assert.Equal(["AAPL", "30"], (await page.EvaluateExpressionAsync<string[]>("[...document.querySelector('#positions-rows tr').cells].map(c => c.textContent)"))[..2]);

        // Live rows and a filled sparkline for the picture.
        await host.CreateAsync("L-", 1, 25, account: "DESK-3", symbol: "NVDA");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#feed-rows tr').length >= 25");
        // The p99 is of the writes between two /metrics polls (2 s apart), '–' when there were none: keep writing until
        // a pair of polls holds some (on a busy machine the 25 above can all fall before one poll and none after).
        using (var writing = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken))
        {
            var writer = Task.Run(async () =>
            {
                for (var i = 1; !writing.IsCancellationRequested; i++)
                {
                    await host.CreateAsync("W-", i, 1, account: "DESK-3", symbol: "NVDA");
                    await Task.Delay(200, CancellationToken.None);
                }
            }, CancellationToken.None);
            await page.WaitForFunctionAsync("() => document.getElementById('ack-p99').textContent !== '–'");
            Directory.CreateDirectory(Path.GetDirectoryName(ScreenshotPath)!);
            await page.ScreenshotAsync(ScreenshotPath, new ScreenshotOptions { FullPage = false });
            await writing.CancelAsync();
            await writer;
        }

        Assert.True(new FileInfo(ScreenshotPath).Length > 10_000);
        Assert.Empty(_errors);
    }

    [Fact]
    public async Task Console_PhoneWidth_NoSidewaysScrolling()
    {
        await using var host = await KestrelHost.StartAsync();
        var page = await OpenAsync(host, 390, 844);
        await WaitForTextAsync(page, "dep-duckdb", "healthy");

        Assert.True(await FitsWidthAsync(page), "the page scrolls sideways on a phone");
        var columns = await page.EvaluateExpressionAsync<string>("getComputedStyle(document.querySelector('main')).gridTemplateColumns");
        Assert.DoesNotContain(" ", columns.Trim(), StringComparison.Ordinal); // one column
    }

    /// <summary>
    /// The feed refused with 503 (Changes:MaxSubscribers reached) keeps trying, says when, and shows a trade written after the
    /// slot is freed. It used to stop for good at the first answer that was not 2xx.
    /// </summary>
    [Fact]
    public async Task Console_FeedRefusedThenSlotFreed_ReconnectsAndShowsATradeWrittenAfterwards()
    {
        await using var host = await KestrelHost.StartAsync(new() { ["TRADESTORE__CHANGES__MAXSUBSCRIBERS"] = "1" });
        using var http = host.Client();
        var held = await http.GetAsync(new Uri("/v1/changes", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.OK, held.StatusCode);

        var page = await OpenAsync(host, 1280, 800);
        await page.WaitForFunctionAsync("() => /^503: .*reconnecting in \\d+ s$/.test(document.getElementById('feed-state').textContent)");
        held.Dispose(); // frees the one slot

        await WaitForTextAsync(page, "feed-state", "live");
        await host.CreateAsync("AFTER-", 1, 1, account: "ACC-R", symbol: "MSFT");
        await page.WaitForFunctionAsync("() => document.querySelector('#feed-rows tr[data-trade-id=\"AFTER-1\"]') !== null");
    }

    /// <summary>With keys configured: no key and a wrong key are reported as refused, the feed stops saying why, and a good key is accepted.</summary>
    [Fact]
    public async Task Console_KeysConfigured_NoKeyAndWrongKeyRefusedGoodKeyAccepted()
    {
        await using var host = await KestrelHost.StartAsync(keys: new() { ["ops"] = ("admin", []), ["desk"] = ("reader", ["ACC-A"]) });
        var page = await OpenAsync(host, 1280, 800);

        await WaitForTextAsync(page, "key-state", "no key: this server needs one (401)");
        await page.WaitForFunctionAsync("() => /^401: .*stopped/.test(document.getElementById('feed-state').textContent)");

        await page.TypeAsync("#api-key", "ts_wrong_key");
        await page.ClickAsync("#key-form button");
        await page.WaitForFunctionAsync("() => document.getElementById('key-state').textContent.startsWith('key refused (401)')");
        Assert.Null(await page.EvaluateExpressionAsync<string?>("sessionStorage.getItem('tradestore.apiKey')"));

        await page.TypeAsync("#api-key", host.Keys["ops"]);
        await page.ClickAsync("#key-form button");
        await WaitForTextAsync(page, "key-state", "key accepted, kept for this tab");
        await WaitForTextAsync(page, "feed-state", "live");
        await WaitForTextAsync(page, "metrics-state", "");

        // A key limited to accounts is refused the check's account (403), which is no reason to doubt the key.
        await page.TypeAsync("#api-key", host.Keys["desk"]);
        await page.ClickAsync("#key-form button");
        await WaitForTextAsync(page, "key-state", "key accepted (limited to its accounts), kept for this tab");
    }

    /// <summary>
    /// Decimals and 64-bit integers keep the digits the server sent in the live feed, the positions and the SQL table
    /// (they went through a JS double: 1234567890.12345678 showed as 1234567890.1234567, 9007199254740993 as
    /// 9007199254740992, 1.00000000 as 1). Also with a JSON.parse that gives its reviver no source text (an older
    /// browser), where the console reads the numbers itself.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Console_BigDecimalsAndIntegers_ShownWithTheServersExactDigits(bool sourceTextAccess)
    {
        const string Quantity = "1234567890.12345678";
        const string Price = "9999999999.99999999";
        await using var host = await KestrelHost.StartAsync();
        // An older JSON.parse: the reviver gets (key, value) and no context.
        var page = await OpenAsync(host, 1280, 800, sourceTextAccess ? null
            : "{ const parse = JSON.parse; JSON.parse = function (text, reviver) { return reviver ? parse(text, function (key, value) { return reviver.call(this, key, value); }) : parse(text); }; }");
        await WaitForTextAsync(page, "feed-state", "live");
        using var http = host.Client();
        await PostAsync(http, "/v1/trades", $$"""{"tradeId":"T-BIG","account":"ACC-BIG","symbol":"MSFT","side":"sell","quantity":"{{Quantity}}","price":"{{Price}}"}""");
        await PostAsync(http, "/v1/trades/T-BIG/fill", $$"""{"quantity":"{{Quantity}}","price":"{{Price}}"}""");

        // Live feed: the create event's qty and price.
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#feed-rows tr[data-trade-id=\"T-BIG\"]').length === 2");
        var created = await page.EvaluateExpressionAsync<string[]>(
            "[...[...document.querySelectorAll('#feed-rows tr[data-trade-id=\"T-BIG\"]')].find(r => r.cells[2].textContent === 'create').cells].map(c => c.textContent)");
        Assert.Equal([Quantity, Price], created[7..9]);

        // Positions: the server's own text of every figure (the notional has 20 integer digits and 9 decimals).
        using (var answer = JsonDocument.Parse(await http.GetStringAsync(new Uri("/v1/positions?account=ACC-BIG", UriKind.Relative), TestContext.Current.CancellationToken)))
        {
            var p = answer.RootElement.GetProperty("items")[0];
            string Raw(string name) => p.GetProperty(name).GetRawText();
            await page.TypeAsync("#positions-account", "ACC-BIG");
            await page.ClickAsync("#positions-form button");
            await page.WaitForSelectorAsync("#positions-rows tr");
            var row = await page.EvaluateExpressionAsync<string[]>("[...document.querySelector('#positions-rows tr').cells].map(c => c.textContent)");
            Assert.Equal(["MSFT", "-" + Quantity, Price, $"{Raw("boughtQuantity")} ({Raw("boughtNotional")})", $"{Raw("soldQuantity")} ({Raw("soldNotional")})"], row);
            Assert.Equal(Quantity, Raw("soldQuantity"));
        }

        // SQL: DECIMAL, BIGINT past 2^53, DOUBLE and a LIST holding a BIGINT, against the server's own text of the same query.
        const string Sql = "SELECT quantity, price, 9007199254740993::BIGINT AS big, 0.00000001::DECIMAL(18,8) AS tiny, 1.00000000::DECIMAL(18,8) AS one, "
            + "0.1::DOUBLE + 0.2::DOUBLE AS d, [9007199254740993::BIGINT] AS l FROM current_trade_state WHERE trade_id = 'T-BIG'";
        using var queried = await PostAsync(http, "/v1/query", JsonSerializer.Serialize(new { sql = Sql }));
        using var result = JsonDocument.Parse(await queried.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var server = result.RootElement.GetProperty("rows")[0].EnumerateArray().Select(v => v.GetRawText()).ToArray();
        await page.EvaluateFunctionAsync("(sql) => { document.getElementById('sql-text').value = sql; }", Sql);
        await page.ClickAsync("#sql-form button");
        await page.WaitForSelectorAsync("#sql-result tbody tr");
        var cells = await page.EvaluateExpressionAsync<string[]>("[...document.querySelector('#sql-result tbody tr').cells].map(c => c.textContent)");
        Assert.Equal([Quantity, Price, "9007199254740993", "0.00000001", "1.00000000"], cells[..5]);
        Assert.Equal("[9007199254740993]", cells[6]);
        Assert.Equal(server, cells);
        Assert.Empty(_errors);
    }

    /// <summary>
    /// A fill's row in the live feed showed the trade's quantity and price (the order's 100 at 189.25) under qty and price,
    /// so a desk watching executions read a fill of 40 at 189.29 as one of 100 at 189.25. A fill's row now shows its
    /// execution (lastQuantity, lastPrice); the other events keep the trade's terms.
    /// </summary>
    [Fact]
    public async Task Console_FeedRowOfAFill_ShowsTheExecutionsQuantityAndPrice()
    {
        await using var host = await KestrelHost.StartAsync();
        var page = await OpenAsync(host, 1280, 800);
        await WaitForTextAsync(page, "feed-state", "live");
        using var http = host.Client();
        await PostAsync(http, "/v1/trades", """{"tradeId":"T-FILL","account":"ACC-1","symbol":"AAPL","side":"buy","quantity":"100","price":"189.25"}""");
        await PostAsync(http, "/v1/trades/T-FILL/fill", """{"quantity":"40","price":"189.29"}""");
        await PostAsync(http, "/v1/trades/T-FILL/cancel", "{}");

        await page.WaitForFunctionAsync("() => document.querySelectorAll('#feed-rows tr[data-trade-id=\"T-FILL\"]').length === 3");
        var rows = await page.EvaluateExpressionAsync<string[][]>(
            "[...document.querySelectorAll('#feed-rows tr[data-trade-id=\"T-FILL\"]')].reverse().map(r => [...r.cells].slice(2).map(c => c.textContent))");

        Assert.Equal(["create", "T-FILL", "ACC-1", "AAPL", "buy", "100", "189.25", "new"], rows[0]);
        Assert.Equal(["fill", "T-FILL", "ACC-1", "AAPL", "buy", "40", "189.29", "partially_filled"], rows[1]);
        Assert.Equal(["cancel", "T-FILL", "ACC-1", "AAPL", "buy", "100", "189.25", "cancelled"], rows[2]);
        Assert.Empty(_pageErrors);
    }

    /// <summary>
    /// An account of only blanks passed the field's <c>required</c> and was trimmed away, so Show asked for every account's
    /// positions and listed them under their symbols alone: DESK-1's AAPL and DESK-2's AAPL as two unlabelled rows, read as
    /// one account's book. Like the API's refusal of <c>account=</c>, a blank account is now refused and nothing is shown.
    /// </summary>
    [Fact]
    public async Task Console_PositionsOfABlankAccount_RefusedInsteadOfEveryAccountUnlabelled()
    {
        await using var host = await KestrelHost.StartAsync();
        await host.CreateAsync("B1-", 1, 1, account: "DESK-1", symbol: "AAPL");
        await host.CreateAsync("B2-", 1, 1, account: "DESK-2", symbol: "AAPL");
        Assert.True((await host.Commands.SubmitAsync(new FillTrade("B1-1", 10, 1.5m), TestContext.Current.CancellationToken)).Succeeded);
        Assert.True((await host.Commands.SubmitAsync(new FillTrade("B2-1", 5, 1.5m), TestContext.Current.CancellationToken)).Succeeded);
        var page = await OpenAsync(host, 1280, 800);
        await WaitForTextAsync(page, "feed-state", "live");

        await page.TypeAsync("#positions-account", "   ");
        await page.ClickAsync("#positions-form button");

        await WaitForTextAsync(page, "positions-state", "enter an account");
        Assert.Equal("error", await page.EvaluateExpressionAsync<string>("document.getElementById('positions-state').className"));
        Assert.Equal(0, await page.EvaluateExpressionAsync<int>("document.querySelectorAll('#positions-rows tr').length"));

        // A real account after it is shown as before.
        await page.EvaluateExpressionAsync("document.getElementById('positions-account').value = 'DESK-2'");
        await page.ClickAsync("#positions-form button");
        await page.WaitForSelectorAsync("#positions-rows tr");
        Assert.Equal(["AAPL", "5"], (await page.EvaluateExpressionAsync<string[]>("[...document.querySelector('#positions-rows tr').cells].map(c => c.textContent)"))[..2]);
        Assert.Empty(_pageErrors);
    }

    /// <summary>
    /// The API pages positions (<c>Api:DefaultPageSize</c> each): Show read only the first page, so an account trading more
    /// symbols than a page showed some of its book as if it were all of it. It follows <c>nextCursor</c> now.
    /// </summary>
    [Fact]
    public async Task Console_PositionsOfAnAccountOverSeveralPages_EverySymbolShownInOrder()
    {
        await using var host = await KestrelHost.StartAsync(new() { ["TRADESTORE__API__DEFAULTPAGESIZE"] = "2" });
        string[] symbols = ["AAPL", "AMZN", "IBM", "MSFT", "NVDA"];
        foreach (var symbol in symbols)
        {
            await host.CreateAsync($"PG-{symbol}-", 1, 1, account: "DESK-P", symbol: symbol);
            Assert.True((await host.Commands.SubmitAsync(new FillTrade($"PG-{symbol}-1", 10, 1.5m), TestContext.Current.CancellationToken)).Succeeded);
        }

        var page = await OpenAsync(host, 1280, 800);
        await WaitForTextAsync(page, "feed-state", "live");
        await page.TypeAsync("#positions-account", "DESK-P");
        await page.ClickAsync("#positions-form button");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#positions-rows tr').length >= 5 || document.getElementById('positions-state').textContent === ''");

        Assert.Equal(symbols, await page.EvaluateExpressionAsync<string[]>("[...document.querySelectorAll('#positions-rows tr')].map(r => r.cells[0].textContent)"));
        Assert.Empty(_pageErrors);
    }

    /// <summary>
    /// With the server gone, Show and Run say "server unreachable" in their panels (Run stayed on "running…" and
    /// Positions blank, each with an uncaught "Failed to fetch").
    /// </summary>
    [Fact]
    public async Task Console_ServerGone_PositionsAndSqlSayServerUnreachable()
    {
        var host = await KestrelHost.StartAsync();
        IPage page;
        try
        {
            page = await OpenAsync(host, 1280, 800);
            await WaitForTextAsync(page, "feed-state", "live");
        }
        finally
        {
            await host.DisposeAsync();
        }

        await page.TypeAsync("#positions-account", "ACC-1");
        await page.ClickAsync("#positions-form button");
        await page.ClickAsync("#sql-form button");

        await WaitForTextAsync(page, "positions-state", "server unreachable");
        await WaitForTextAsync(page, "sql-state", "server unreachable");
        Assert.Equal("error", await page.EvaluateExpressionAsync<string>("document.getElementById('positions-state').className"));
        Assert.Equal("error", await page.EvaluateExpressionAsync<string>("document.getElementById('sql-state').className"));
        Assert.Empty(_pageErrors);
    }

    /// <summary>
    /// A JSON query answer that fails after it started streaming (past 1 MiB: 200, then rows, then <c>],"error":{problem}</c>,
    /// not valid JSON) shows the problem's detail, not "running…" and no half table.
    /// </summary>
    [Fact]
    public async Task Console_SqlAnswerFailsAfterStreaming_ShowsTheStreamedProblem()
    {
        await using var host = await KestrelHost.StartAsync(new()
        {
            ["TRADESTORE__SECURITY__QUERY__MAXROWS"] = "500000",
            ["TRADESTORE__SECURITY__QUERY__MAXRESULTBYTES"] = (256L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["TRADESTORE__SECURITY__QUERY__TIMEOUT"] = "00:02:00",
        });
        var page = await OpenAsync(host, 1280, 800);
        // As StreamedQueryTests: ~19 MiB of rows before row 480,000 fails, so the failure comes after the first byte.
        await page.EvaluateExpressionAsync("document.getElementById('sql-text').value = \"SELECT CASE WHEN range = 480000 THEN error('late failure') ELSE range END AS n, 'streamed-row-padding' AS pad FROM range(600000)\"");

        await page.ClickAsync("#sql-form button");

        await page.WaitForFunctionAsync("() => document.getElementById('sql-state').textContent !== 'running…'", new WaitForFunctionOptions { Timeout = 120_000 });
        var state = await TextAsync(page, "sql-state");
        Assert.StartsWith("failed after the answer had started: ", state, StringComparison.Ordinal);
        Assert.Contains("late failure", state, StringComparison.Ordinal);
        Assert.Equal("error", await page.EvaluateExpressionAsync<string>("document.getElementById('sql-state').className"));
        Assert.Equal(0, await page.EvaluateExpressionAsync<int>("document.querySelectorAll('#sql-result tr').length"));
        Assert.Empty(_pageErrors);
    }

    /// <summary>
    /// The live feed starts with the last 100 events written before the page opened (it started empty and showed only
    /// later ones): 103 trades, then the page shows seqs 103 down to 4 without any new write.
    /// </summary>
    [Fact]
    public async Task Console_OpenedAfterWrites_FeedStartsWithTheLast100Events()
    {
        await using var host = await KestrelHost.StartAsync();
        await host.CreateAsync("B-", 1, 103, account: "ACC-B", symbol: "MSFT");

        var page = await OpenAsync(host, 1280, 800);

        await page.WaitForFunctionAsync("() => document.querySelectorAll('#feed-rows tr').length === 100 && document.querySelector('#feed-rows tr:last-child').cells[0].textContent === '4'");
        var seqs = await page.EvaluateExpressionAsync<string[]>("[...document.querySelectorAll('#feed-rows tr')].map(r => r.cells[0].textContent)");
        Assert.Equal(Enumerable.Range(4, 100).Reverse().Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), seqs);
        await WaitForTextAsync(page, "feed-state", "live");
        Assert.Empty(_errors);
    }

    /// <summary>
    /// A refused key is dropped from memory, not only from sessionStorage: the polls go on without it, so a loopback
    /// caller reads /metrics again (they kept sending it every 2 s and showed "/metrics: 401, the key was refused").
    /// </summary>
    [Fact]
    public async Task Console_KeyRefused_PollsGoOnWithoutIt()
    {
        await using var host = await KestrelHost.StartAsync(keys: new() { ["ops"] = ("admin", []) });
        var page = await OpenAsync(host, 1280, 800);
        var sent = new ConcurrentQueue<(string Url, bool WithKey)>();
        page.Request += (_, e) => sent.Enqueue((e.Request.Url, e.Request.Headers.Keys.Any(h => h.Equals("Authorization", StringComparison.OrdinalIgnoreCase))));
        // Two /metrics polls answered: loopback without a key may read it (Security:Metrics), keys configured or not.
        await page.WaitForFunctionAsync("() => document.getElementById('writes-per-second').textContent !== '–'");

        await page.TypeAsync("#api-key", "ts_wrong_key");
        await page.ClickAsync("#key-form button");
        await page.WaitForFunctionAsync("() => document.getElementById('key-state').textContent.startsWith('key refused (401)')");
        Assert.True(sent.Any(r => r.WithKey), "the typed key was never sent");

        // Read again without the key (a poll still on its way with it may have said 401 meanwhile) ...
        await WaitForTextAsync(page, "metrics-state", "");
        sent.Clear();
        // ... and the next polls carry none.
        await WaitForRequestsAsync(sent, "/metrics", 2);
        await WaitForRequestsAsync(sent, "/health/ready", 2);
        Assert.DoesNotContain(sent, r => r.WithKey);
        await WaitForTextAsync(page, "metrics-state", "");
        Assert.Null(await page.EvaluateExpressionAsync<string?>("sessionStorage.getItem('tradestore.apiKey')"));
    }

    /// <summary>STRUCT, MAP and LIST values are shown as JSON text, NULL apart from an empty string.</summary>
    [Fact]
    public async Task Console_SqlNestedValuesAndNull_ShownAsJsonAndNullMarked()
    {
        await using var host = await KestrelHost.StartAsync();
        var page = await OpenAsync(host, 1280, 800);
        await page.EvaluateExpressionAsync("document.getElementById('sql-text').value = \"SELECT {'a': 1} AS st, MAP {'k': 2} AS m, [1, 2] AS l, NULL AS n, '' AS e\"");

        await page.ClickAsync("#sql-form button");
        await page.WaitForSelectorAsync("#sql-result tbody tr");
        var cells = await page.EvaluateExpressionAsync<string[]>("[...document.querySelector('#sql-result tbody tr').cells].map(c => c.className + '|' + c.textContent)");

        Assert.Equal("|{\"a\":1}", cells[0]);
        Assert.Contains("\"k\"", cells[1], StringComparison.Ordinal);
        Assert.DoesNotContain("[object Object]", cells[1], StringComparison.Ordinal);
        Assert.Equal("|[1,2]", cells[2]);
        Assert.Equal("null|NULL", cells[3]);
        Assert.Equal("|", cells[4]);
    }

    /// <summary>When /health/ready stops answering, the badges say so and the old descriptions go.</summary>
    [Fact]
    public async Task Console_ServerGone_HealthUnreachableWithoutOldDescriptions()
    {
        var host = await KestrelHost.StartAsync();
        IPage page;
        try
        {
            page = await OpenAsync(host, 1280, 800);
            await WaitForTextAsync(page, "dep-duckdb", "healthy");
            Assert.NotEqual("", await TextAsync(page, "desc-duckdb"));
        }
        finally
        {
            await host.DisposeAsync();
        }

        await WaitForTextAsync(page, "dep-duckdb", "unreachable");
        Assert.Equal("", await TextAsync(page, "desc-duckdb"));
        Assert.Equal("unreachable", await TextAsync(page, "health-overall"));
    }

    /// <summary>
    /// Behind a reverse proxy that serves TradeStore under a path prefix (here the browser's requests under
    /// <c>/desk/tradestore/</c> are passed on without it, and any other is refused). Regression: the console asked for
    /// <c>/health/ready</c>, <c>/metrics</c> and <c>/v1/…</c> from the root, past the proxy, and every panel failed.
    /// </summary>
    [Fact]
    public async Task Console_UnderAPathPrefix_EveryRequestStaysUnderItAndEveryPanelFills()
    {
        const string Prefix = "/desk/tradestore";
        await using var host = await KestrelHost.StartAsync();
        var outside = new ConcurrentQueue<string>();
        var page = await OpenAsync(host, 1280, 800, path: Prefix + "/console/", beforeNavigation: p => StripPrefixAsync(p, Prefix, outside));

        await WaitForTextAsync(page, "dep-duckdb", "healthy");
        await WaitForTextAsync(page, "feed-state", "live");
        await page.WaitForFunctionAsync("() => document.getElementById('writes-per-second').textContent !== '–'");
        Assert.Equal(Prefix + "/docs/api/", new Uri(await page.EvaluateExpressionAsync<string>("document.querySelector('footer a').href")).AbsolutePath);
        Assert.Empty(outside);
        Assert.Empty(_errors);

        // Without the trailing slash: redirected relatively, so a browser behind the proxy stays under the prefix.
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = host.Address };
        using var redirect = await http.GetAsync(new Uri("/console", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Equal("console/", redirect.Headers.Location?.OriginalString);
    }

    /// <summary>
    /// The API reference behind the same proxy: Scalar finds <c>openapi/v1.json</c> under the prefix it was opened
    /// under (its base path is the page's path less <c>/docs/api/</c>), so the document and the scripts pass the proxy.
    /// </summary>
    [Fact]
    public async Task ApiReference_UnderAPathPrefix_LoadsItsDocumentUnderIt()
    {
        const string Prefix = "/desk/tradestore";
        await using var host = await KestrelHost.StartAsync();
        var outside = new ConcurrentQueue<string>();
        var page = await OpenAsync(host, 1280, 800, path: Prefix + "/docs/api/", beforeNavigation: p => StripPrefixAsync(p, Prefix, outside));

        await page.WaitForFunctionAsync("() => document.body.innerText.includes('Create a trade')");
        Assert.Empty(outside);
        Assert.Empty(_errors);
    }

    /// <summary>The API reference page renders from this server alone: no request leaves 127.0.0.1, no console error (CSP violations included), no Scalar cloud features.</summary>
    [Fact]
    public async Task ApiReference_Loaded_NoRequestLeavesTheServerAndNoConsoleErrors()
    {
        await using var host = await KestrelHost.StartAsync();
        var page = await _browser!.NewPageAsync();
        page.Console += (_, e) =>
        {
            if (e.Message.Type == ConsoleType.Error)
            {
                _errors.Enqueue(e.Message.Text);
            }
        };
        page.PageError += (_, e) => _errors.Enqueue(e.Message);
        var elsewhere = new ConcurrentQueue<string>();
        await page.SetRequestInterceptionAsync(true);
        page.Request += async (_, e) =>
        {
            if (e.Request.Url.StartsWith(host.Address.ToString(), StringComparison.Ordinal) || e.Request.Url.StartsWith("data:", StringComparison.Ordinal))
            {
                await e.Request.ContinueAsync();
            }
            else
            {
                elsewhere.Enqueue(e.Request.Url);
                await e.Request.AbortAsync();
            }
        };
        await page.SetViewportAsync(new ViewPortOptions { Width = 1280, Height = 800 });

        await page.GoToAsync(new Uri(host.Address, "/docs/api/").ToString(), WaitUntilNavigation.Networkidle0);
        await page.WaitForFunctionAsync("() => document.body.innerText.includes('Create a trade')");
        await Task.Delay(1000, TestContext.Current.CancellationToken); // anything loaded late (fonts) is requested by now

        Assert.Empty(elsewhere);
        Assert.Empty(_errors);
        var text = await page.EvaluateExpressionAsync<string>("document.body.innerText");
        foreach (var hosted in new[] { "Ask AI", "Generate SDK", "Deploy" })
        {
            Assert.DoesNotContain(hosted, text, StringComparison.Ordinal);
        }
    }

    /// <summary>docs/images/console.png in the repository.</summary>
    private static string ScreenshotPath
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "TradeStore.slnx")))
            {
                directory = directory.Parent;
            }

            return Path.Combine(directory?.FullName ?? AppContext.BaseDirectory, "docs", "images", "console.png");
        }
    }

    /// <param name="beforeLoad">A script run in the page before the console's own.</param>
    /// <param name="path">Where the page is opened.</param>
    /// <param name="beforeNavigation">Set up on the page before it is opened (request interception).</param>
    private async Task<IPage> OpenAsync(KestrelHost host, int width, int height, string? beforeLoad = null, string path = "/console/", Func<IPage, Task>? beforeNavigation = null)
    {
        var page = await _browser!.NewPageAsync();
        page.Console += (_, e) =>
        {
            if (e.Message.Type == ConsoleType.Error)
            {
                _errors.Enqueue(e.Message.Text);
            }
        };
        page.PageError += (_, e) =>
        {
            _errors.Enqueue(e.Message);
            _pageErrors.Enqueue(e.Message);
        };
        if (beforeLoad is not null)
        {
            await page.EvaluateExpressionOnNewDocumentAsync(beforeLoad);
        }

        if (beforeNavigation is not null)
        {
            await beforeNavigation(page);
        }

        await page.SetViewportAsync(new ViewPortOptions { Width = width, Height = height });
        await page.GoToAsync(new Uri(host.Address, path).ToString(), WaitUntilNavigation.Load);
        return page;
    }

    /// <summary>
    /// Plays a reverse proxy that serves TradeStore under <paramref name="prefix"/>: a request under it is passed on
    /// without it, any other is refused and kept in <paramref name="outside"/>.
    /// </summary>
    private static async Task StripPrefixAsync(IPage page, string prefix, ConcurrentQueue<string> outside)
    {
        await page.SetRequestInterceptionAsync(true);
        page.Request += async (_, e) =>
        {
            var url = new Uri(e.Request.Url);
            if (url.AbsolutePath.StartsWith(prefix + "/", StringComparison.Ordinal))
            {
                await e.Request.ContinueAsync(new Payload { Url = new UriBuilder(url) { Path = url.AbsolutePath[prefix.Length..] }.Uri.ToString() });
            }
            else
            {
                outside.Enqueue(url.PathAndQuery);
                await e.Request.AbortAsync();
            }
        };
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, string path, string json)
    {
        var response = await http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
        return response;
    }

    /// <summary>Waits (generously) until <paramref name="count"/> requests to <paramref name="path"/> were seen.</summary>
    private static async Task WaitForRequestsAsync(ConcurrentQueue<(string Url, bool WithKey)> sent, string path, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (sent.Count(r => new Uri(r.Url).AbsolutePath == path) < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"fewer than {count} requests to {path} in 30 s");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    private static Task<string> TextAsync(IPage page, string id) =>
        page.EvaluateExpressionAsync<string>($"document.getElementById('{id}').textContent");

    private static Task WaitForTextAsync(IPage page, string id, string text) =>
        page.WaitForFunctionAsync($"() => document.getElementById('{id}').textContent === '{text}'");

    private static Task<bool> FitsWidthAsync(IPage page) =>
        page.EvaluateExpressionAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth");
}
