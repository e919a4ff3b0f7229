using System.Collections.Concurrent;
using System.Text;
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
        await using var host = await KestrelHost.StartAsync(keys: new() { ["ops"] = ("admin", []) });
        var page = await OpenAsync(host, 1280, 800);

        await WaitForTextAsync(page, "key-state", "no key: this server needs one (401)");
        await page.WaitForFunctionAsync("() => /^401: .*stopped/.test(document.getElementById('feed-state').textContent)");

        await page.TypeAsync("#api-key", "ts_wrong_key");
        await page.ClickAsync("#key-form button");
        await page.WaitForFunctionAsync("() => document.getElementById('key-state').textContent.startsWith('key refused (401)')");
        Assert.Null(await page.EvaluateExpressionAsync<string?>("sessionStorage.getItem('tradestore.apiKey')"));
        // The metrics panel names the key, not Security:Metrics, as the reason: loopback may read /metrics, a wrong key may not.
        await WaitForTextAsync(page, "metrics-state", "/metrics: 401, the key was refused");

        await page.TypeAsync("#api-key", host.Keys["ops"]);
        await page.ClickAsync("#key-form button");
        await WaitForTextAsync(page, "key-state", "key accepted, kept for this tab");
        await WaitForTextAsync(page, "feed-state", "live");
        await WaitForTextAsync(page, "metrics-state", "");
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

    private async Task<IPage> OpenAsync(KestrelHost host, int width, int height)
    {
        var page = await _browser!.NewPageAsync();
        page.Console += (_, e) =>
        {
            if (e.Message.Type == ConsoleType.Error)
            {
                _errors.Enqueue(e.Message.Text);
            }
        };
        page.PageError += (_, e) => _errors.Enqueue(e.Message);
        await page.SetViewportAsync(new ViewPortOptions { Width = width, Height = height });
        await page.GoToAsync(new Uri(host.Address, "/console/").ToString(), WaitUntilNavigation.Load);
        return page;
    }

    private static Task<string> TextAsync(IPage page, string id) =>
        page.EvaluateExpressionAsync<string>($"document.getElementById('{id}').textContent");

    private static Task WaitForTextAsync(IPage page, string id, string text) =>
        page.WaitForFunctionAsync($"() => document.getElementById('{id}').textContent === '{text}'");

    private static Task<bool> FitsWidthAsync(IPage page) =>
        page.EvaluateExpressionAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth");
}
