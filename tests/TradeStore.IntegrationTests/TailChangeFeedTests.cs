using System.Text;
using System.Text.Json;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary><c>tradestore tail</c> following a running <c>serve</c>'s change feed (no Redis): backlog, then live, then Ctrl-C.</summary>
public sealed class TailChangeFeedTests : IDisposable
{
    private readonly TempDirectory _work = new("tail-feed");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task Tail_UrlFromSeq_PrintsBacklogThenLiveEventsAndStopsOnSigint()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var serve = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path);
        await serve.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        for (var i = 1; i <= 5; i++)
        {
            await CreateAsync(http, $"B-{i}", i % 2 == 0 ? "ACC-2" : "ACC-1");
        }

        using var tailDirectory = new TempDirectory("tail-cwd");
        await using var tail = TradeStoreProcess.Start(["tail", "--url", url, "--from", "2"], tailDirectory.Path);
        await WaitForLinesAsync(tail, 4);
        await CreateAsync(http, "LIVE-1", "ACC-1");
        await WaitForLinesAsync(tail, 5);
        tail.Signal(2);
        var exit = await tail.WaitForExitAsync(TimeSpan.FromSeconds(20));

        Assert.True(exit == 0, tail.Output);
        var events = Lines(tail).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal([2L, 3, 4, 5, 6], events.Select(e => e.GetProperty("seq").GetInt64()));
        Assert.Equal("LIVE-1", events[^1].GetProperty("trade").GetProperty("tradeId").GetString());
        Assert.Equal("create", events[^1].GetProperty("type").GetString());
    }

    [Fact]
    public async Task Tail_UrlNobodyListens_ExitsOneNamingTheServer()
    {
        // A free port picked and released was once taken by another test's server, and tail followed that server.
        using var nobody = new RefusingPort();
        var url = $"http://127.0.0.1:{nobody.Port}";
        var (exit, output) = await TradeStoreProcess.RunAsync(["tail", "--url", url], _work.Path, timeout: TimeSpan.FromSeconds(60));

        Assert.Equal(1, exit);
        Assert.Contains(url, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tail_BadUrl_ExitsTwo()
    {
        var (exit, output) = await TradeStoreProcess.RunAsync(["tail", "--url", "localhost:5080"], _work.Path, timeout: TimeSpan.FromSeconds(60));

        Assert.Equal(2, exit);
        Assert.Contains("--url", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("99999999999999999999999")]
    public async Task Tail_FromNotASeq_ExitsTwoNamingTheFlagWithoutAStackTrace(string from)
    {
        var (exit, output) = await TradeStoreProcess.RunAsync(["tail", "--url", "http://127.0.0.1:9", "--from", from], _work.Path, timeout: TimeSpan.FromSeconds(60));

        Assert.True(exit == 2, output);
        Assert.Contains($"--from must be a seq of 1 or more, got '{from}'", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
    }

    private static async Task CreateAsync(HttpClient http, string tradeId, string account)
    {
        using var body = new StringContent($$"""{"tradeId":"{{tradeId}}","account":"{{account}}","symbol":"AAPL","side":"buy","quantity":"1","price":"2.5"}""", Encoding.UTF8, "application/json");
        using var response = await http.PostAsync("/v1/trades", body, TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
    }

    private static async Task WaitForLinesAsync(TradeStoreProcess tail, int count)
    {
        // A guard against a hung test, not a speed assertion.
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        patience.CancelAfter(TimeSpan.FromSeconds(60));
        while (Lines(tail).Count < count)
        {
            Assert.False(tail.HasExited, tail.Output);
            await Task.Delay(50, patience.Token);
        }
    }

    private static List<string> Lines(TradeStoreProcess process) =>
        [.. process.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith('{'))];
}
