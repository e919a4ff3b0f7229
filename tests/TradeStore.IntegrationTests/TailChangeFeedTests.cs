using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TradeStore.Server;
using TradeStore.Server.Configuration;
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

    /// <summary>
    /// A server a gateway mounts under <c>/tradestore</c>: tail asked for <c>/v1/changes</c> at the host's root (the
    /// absolute path dropped the URL's path) and exited 1 on the gateway's 404. The prefix is kept now.
    /// </summary>
    [Fact]
    public async Task Tail_UrlWithAPathPrefix_FollowsTheFeedUnderThePrefix()
    {
        var ct = TestContext.Current.CancellationToken;
        var port = FreePort.Next();
        var configuration = TradeStoreConfiguration.Build(new ConfigurationInputs
        {
            BaseDirectory = _work.Path,
            WorkingDirectory = _work.Path,
            Environment = new Dictionary<string, string>
            {
                ["TRADESTORE__STORAGE__DATADIRECTORY"] = _work.Path,
                ["TRADESTORE__SERVER__URLS"] = $"http://127.0.0.1:{port}",
            },
        });
        var app = TradeStoreHost.Build(configuration, builder => builder.Services.AddSingleton<IStartupFilter>(new UnderPrefix("/tradestore")));
        await app.StartAsync(ct);
        try
        {
            var url = $"http://127.0.0.1:{port}/tradestore";
            using var http = new HttpClient { BaseAddress = new Uri(url + "/") };
            await CreateAsync(http, "P-1", "ACC-1", "v1/trades");
            await CreateAsync(http, "P-2", "ACC-1", "v1/trades");
            using (var root = await http.GetAsync($"http://127.0.0.1:{port}/v1/changes", ct))
            {
                Assert.Equal(System.Net.HttpStatusCode.NotFound, root.StatusCode); // the gateway serves nothing outside its prefix
            }

            using var tailDirectory = new TempDirectory("tail-cwd");
            await using var tail = TradeStoreProcess.Start(["tail", "--url", url, "--from", "1"], tailDirectory.Path);
            await WaitForLinesAsync(tail, 2);
            tail.Signal(2);
            var exit = await tail.WaitForExitAsync(TimeSpan.FromSeconds(20));

            Assert.True(exit == 0, tail.Output);
            Assert.Equal(["P-1", "P-2"], Lines(tail).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("trade").GetProperty("tradeId").GetString()));
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }
    }

    /// <summary>
    /// The server tail follows stops, and another one comes up at its address with a fresh data directory (a replaced
    /// server; a follower behind). Tail exited 1 on the 503 seq-not-reached of its reconnect; now it retries, one
    /// stderr line per attempt, and goes on from the next seq once the new server holds the last one printed.
    /// </summary>
    [Fact]
    public async Task Tail_ServerGoneThen503SeqNotReached_RetriesAndResumesFromTheNextSeq()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        using var first = new TempDirectory("tail-first");
        using var second = new TempDirectory("tail-second");
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        using var tailDirectory = new TempDirectory("tail-cwd");
        await using var serve = TradeStoreProcess.Start(["serve", "--data", first.Path, "--urls", url], first.Path);
        await serve.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        for (var i = 1; i <= 3; i++)
        {
            await CreateAsync(http, $"A-{i}", "ACC-1");
        }

        await using var tail = TradeStoreProcess.Start(["tail", "--url", url, "--from", "1"], tailDirectory.Path);
        await WaitForLinesAsync(tail, 3);
        serve.Signal(15);
        await serve.WaitForExitAsync(TimeSpan.FromSeconds(60));

        await using var replaced = TradeStoreProcess.Start(["serve", "--data", second.Path, "--urls", url], second.Path);
        await replaced.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        await tail.WaitForOutputAsync("seq-not-reached", TimeSpan.FromSeconds(60));
        Assert.False(tail.HasExited, tail.Output);
        for (var i = 1; i <= 4; i++)
        {
            await CreateAsync(http, $"B-{i}", "ACC-1");
        }

        await WaitForLinesAsync(tail, 4);
        tail.Signal(2);
        var exit = await tail.WaitForExitAsync(TimeSpan.FromSeconds(20));

        Assert.True(exit == 0, tail.Output);
        var events = Lines(tail).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal([1L, 2, 3, 4], events.Select(e => e.GetProperty("seq").GetInt64()));
        Assert.Equal("B-4", events[^1].GetProperty("trade").GetProperty("tradeId").GetString());
        Assert.Contains("answered 503 seq-not-reached", tail.Output, StringComparison.Ordinal);
        Assert.Contains("retrying in 1 s from seq 4", tail.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Tail without <c>--from</c> whose server restarts before any event: it resumes where its stream began (the
    /// stream's opening <c>id:</c>), so a trade committed before its reconnect is printed, not skipped as "before now".
    /// </summary>
    [Fact]
    public async Task Tail_WithoutFromServerRestartedBeforeAnyEvent_PrintsWhatCommittedBeforeTheReconnect()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        using var data = new TempDirectory("tail-restart");
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        using var tailDirectory = new TempDirectory("tail-cwd");
        var serve = TradeStoreProcess.Start(["serve", "--data", data.Path, "--urls", url], data.Path);
        await serve.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        await CreateAsync(http, "R-1", "ACC-1");
        await using var tail = TradeStoreProcess.Start(["tail", "--url", url], tailDirectory.Path);
        // Subscribed: the server counts an open stream (a change-feed subscriber) only once its answer has begun.
        await WaitForSubscribersAsync(http, 1);
        serve.Signal(15);
        await serve.WaitForExitAsync(TimeSpan.FromSeconds(60));
        await serve.DisposeAsync();
        await tail.WaitForOutputAsync("retrying in", TimeSpan.FromSeconds(60));

        await using var restarted = TradeStoreProcess.Start(["serve", "--data", data.Path, "--urls", url], data.Path);
        await restarted.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        await CreateAsync(http, "R-2", "ACC-1"); // most likely before tail's next attempt (it backs off 1, 2, 4 … s)
        await CreateAsync(http, "R-3", "ACC-1");
        await WaitForLinesAsync(tail, 2);
        tail.Signal(2);
        var exit = await tail.WaitForExitAsync(TimeSpan.FromSeconds(20));

        Assert.True(exit == 0, tail.Output);
        var events = Lines(tail).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal(["R-2", "R-3"], events.Select(e => e.GetProperty("trade").GetProperty("tradeId").GetString()));
        Assert.Contains("retrying in 1 s from seq 2", tail.Output, StringComparison.Ordinal);
    }

    /// <summary>A 503 at the first connection (nothing followed yet: perhaps the wrong server) still ends tail with exit code 1.</summary>
    [Fact]
    public async Task Tail_FirstAnswer503_ExitsOneWithoutRetrying()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var serve = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__CLUSTER__READWAITTIMEOUT"] = "00:00:00" });
        await serve.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));

        var (exit, output) = await TradeStoreProcess.RunAsync(["tail", "--url", url, "--from", "9"], _work.Path, timeout: TimeSpan.FromSeconds(60));

        Assert.True(exit == 1, output);
        Assert.Contains("answered 503 seq-not-reached", output, StringComparison.Ordinal);
        Assert.DoesNotContain("retrying", output, StringComparison.Ordinal);
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

    /// <summary>A real serve on this test's data directory with one API key, role reader; its URL and the key.</summary>
    private async Task<(TradeStoreProcess Serve, string Url, string Key)> ServeWithAReaderKeyAsync()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var (key, hash) = TradeStore.Core.Security.ApiKeyHash.Generate();
        var serve = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path, new Dictionary<string, string>
        {
            ["TRADESTORE__SECURITY__APIKEYS__0__NAME"] = "reader",
            ["TRADESTORE__SECURITY__APIKEYS__0__HASH"] = hash,
            ["TRADESTORE__SECURITY__APIKEYS__0__ROLE"] = "reader",
        });
        await serve.WaitUntilAnsweringAsync($"{url}/health/live", TimeSpan.FromSeconds(60));
        return (serve, url, key);
    }

    /// <summary>
    /// A server with keys and tail without <c>TRADESTORE_API_KEY</c>: the 401's detail alone told the user to send an
    /// <c>Authorization</c> header, which tail takes from no option. The line names the variable now.
    /// </summary>
    [Fact]
    public async Task Tail_ServerNeedsAKeyAndNoneIsSet_ExitsOneNamingTheVariable()
    {
        var (serve, url, key) = await ServeWithAReaderKeyAsync();
        await using var running = serve;

        var (exit, output) = await TradeStoreProcess.RunAsync(["tail", "--url", url], _work.Path, timeout: TimeSpan.FromSeconds(60));
        var (wrongExit, wrongOutput) = await TradeStoreProcess.RunAsync(["tail", "--url", url], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE_API_KEY"] = key + "x" }, TimeSpan.FromSeconds(60));

        Assert.True(exit == 1, output);
        Assert.Contains("answered 401 unauthorized", output, StringComparison.Ordinal);
        Assert.Contains("(tail sends the key in TRADESTORE_API_KEY, which is not set)", output, StringComparison.Ordinal);
        Assert.True(wrongExit == 1, wrongOutput);
        Assert.Contains("(the key in TRADESTORE_API_KEY)", wrongOutput, StringComparison.Ordinal);
    }

    /// <summary>
    /// <c>TRADESTORE_API_KEY</c> read from a file ends with a newline, which no header holds: tail died of an unhandled
    /// FormatException (exit 134, a stack trace). The blanks around the key are dropped now; one inside is exit 2 naming
    /// the variable, never the value.
    /// </summary>
    [Fact]
    public async Task Tail_KeyWithNewline_TrimmedOrRefusedNamingTheVariable()
    {
        var (serve, url, key) = await ServeWithAReaderKeyAsync();
        await using var running = serve;

        // A wrong key with a newline after it reaches the server (401), so the right one with a newline is sent whole.
        var (trailingExit, trailingOutput) = await TradeStoreProcess.RunAsync(["tail", "--url", url], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE_API_KEY"] = key + "x\n" }, TimeSpan.FromSeconds(60));
        var (insideExit, insideOutput) = await TradeStoreProcess.RunAsync(["tail", "--url", url], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE_API_KEY"] = key[..10] + "\n" + key[10..] }, TimeSpan.FromSeconds(60));

        Assert.True(trailingExit == 1, trailingOutput);
        Assert.Contains("answered 401 unauthorized", trailingOutput, StringComparison.Ordinal);
        Assert.True(insideExit == 2, insideOutput);
        Assert.Contains("TRADESTORE_API_KEY holds a blank or a control character", insideOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(key[10..], insideOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", trailingOutput + insideOutput, StringComparison.Ordinal);
    }

    /// <summary>
    /// A <c>--url</c> of a web server that answers 200 with a page to every path: tail took it for the feed, printed
    /// nothing and reconnected every second for ever, without a word. It names what it got and exits 1 now.
    /// </summary>
    [Fact]
    public async Task Tail_UrlAnswers200WithoutAnEventStream_ExitsOneSayingItIsNotAChangeFeed()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new CancellationTokenSource();
        var serving = AnswerEveryRequestWithAPageAsync(listener, stop.Token);
        var url = $"http://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}";

        var (exit, output) = await TradeStoreProcess.RunAsync(["tail", "--url", url, "--from", "1"], _work.Path, timeout: TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        listener.Stop();
        await serving;

        Assert.True(exit == 1, output);
        Assert.Contains($"{url}/ answered 200 with text/html, not a change feed (text/event-stream)", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Once following, a 429 (the key's Changes:MaxSubscribersPerKey or request rate, with Retry-After) ended tail with
    /// exit 1, though it asks for a retry as 503 too-many-subscribers does, which tail retried (the console retries both).
    /// A peer scripted to answer a stream with event 1, then 429, then a stream with event 2: tail retries and prints both.
    /// </summary>
    [Fact]
    public async Task Tail_429AfterFollowing_RetriesAfterRetryAfterAndGoesOn()
    {
        var (exit, output, lines, lastEventIds) = await TailScriptedPeerAsync(
        [
            Answer("200 OK", "text/event-stream", "", "id: 0\n\nid: 1\nevent: create\ndata: {\"seq\":1}\n\n"),
            Answer("429 Too Many Requests", "application/problem+json", "Retry-After: 1\r\n", """{"type":"urn:tradestore:problem:too-many-requests","title":"Too many requests","status":429}"""),
            Answer("200 OK", "text/event-stream", "", "id: 1\n\nid: 2\nevent: create\ndata: {\"seq\":2}\n\n"),
        ]);

        Assert.True(exit == 0, output);
        Assert.Equal(["{\"seq\":1}", "{\"seq\":2}"], lines);
        Assert.Contains("answered 429 too-many-requests; retrying in 1 s from seq 2", output, StringComparison.Ordinal);
        Assert.Equal(new string?[] { null, "1", "1" }, lastEventIds.Take(3));
    }

    /// <summary>
    /// An <c>event: error</c> that is not the server's final event (a proxy's, its data not TradeStore's JSON) ended tail
    /// with an unhandled JsonException. It now says so and resumes after the last event it printed.
    /// </summary>
    [Fact]
    public async Task Tail_ErrorEventThatIsNotTradeStores_SaysSoAndResumesAfterTheLastEventPrinted()
    {
        var (exit, output, lines, lastEventIds) = await TailScriptedPeerAsync(
        [
            Answer("200 OK", "text/event-stream", "", "id: 0\n\nid: 1\nevent: create\ndata: {\"seq\":1}\n\nevent: error\ndata: upstream timed out\n\n"),
            Answer("200 OK", "text/event-stream", "", "id: 1\n\nid: 2\nevent: create\ndata: {\"seq\":2}\n\n"),
        ]);

        Assert.True(exit == 0, output);
        Assert.Equal(["{\"seq\":1}", "{\"seq\":2}"], lines);
        Assert.Contains("the stream ended with an 'error' event that is not TradeStore's (data 'upstream timed out'); resuming from seq 2", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
        Assert.Equal(new string?[] { null, "1" }, lastEventIds.Take(2));
    }

    /// <summary>
    /// Runs <c>tail --from 1</c> against a peer that answers its n-th connection with <paramref name="answers"/>[n], until
    /// two events are printed, then stops it with SIGINT: its exit code, output, printed lines, and each request's Last-Event-ID.
    /// </summary>
    private async Task<(int Exit, string Output, List<string> Lines, List<string?> LastEventIds)> TailScriptedPeerAsync(IReadOnlyList<string> answers)
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new CancellationTokenSource();
        var lastEventIds = new List<string?>();
        var serving = AnswerInTurnAsync(listener, answers, lastEventIds, stop.Token);
        var url = $"http://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}";

        await using var tail = TradeStoreProcess.Start(["tail", "--url", url, "--from", "1"], _work.Path);
        await WaitForLinesAsync(tail, 2);
        tail.Signal(2);
        var exit = await tail.WaitForExitAsync(TimeSpan.FromSeconds(20));
        await stop.CancelAsync();
        listener.Stop();
        await serving;
        lock (lastEventIds)
        {
            return (exit, tail.Output, Lines(tail), [.. lastEventIds]);
        }
    }

    /// <summary>An HTTP/1.1 answer that closes its connection.</summary>
    private static string Answer(string status, string contentType, string headers, string body) =>
        $"HTTP/1.1 {status}\r\nContent-Type: {contentType}\r\n{headers}Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";

    /// <summary>
    /// Answers the n-th connection's request with <paramref name="answers"/>[n] and closes it; connections past the last
    /// answer are held open unanswered. Records each request's Last-Event-ID (null without one).
    /// </summary>
    private static async Task AnswerInTurnAsync(System.Net.Sockets.TcpListener listener, IReadOnlyList<string> answers, List<string?> lastEventIds, CancellationToken stop)
    {
        var held = new List<System.Net.Sockets.TcpClient>();
        try
        {
            for (var turn = 0; ; turn++)
            {
                var client = await listener.AcceptTcpClientAsync(stop);
                held.Add(client);
                var request = await ReadRequestAsync(client.GetStream(), stop);
                var lastEventId = request.Split("\r\n").FirstOrDefault(line => line.StartsWith("Last-Event-ID:", StringComparison.OrdinalIgnoreCase))?["Last-Event-ID:".Length..].Trim();
                lock (lastEventIds)
                {
                    lastEventIds.Add(lastEventId);
                }

                if (turn < answers.Count)
                {
                    await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes(answers[turn]), stop);
                    client.Dispose();
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException or IOException)
        {
            // The test is done with it.
        }
        finally
        {
            foreach (var client in held)
            {
                client.Dispose();
            }
        }
    }

    /// <summary>The request's head: its bytes up to the blank line.</summary>
    private static async Task<string> ReadRequestAsync(System.Net.Sockets.NetworkStream stream, CancellationToken stop)
    {
        var request = new StringBuilder();
        var buffer = new byte[4096];
        while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, stop);
            if (read == 0)
            {
                break;
            }

            request.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return request.ToString();
    }

    /// <summary>Answers each connection's request with a small HTML page (200), as a web app does for any path.</summary>
    private static async Task AnswerEveryRequestWithAPageAsync(System.Net.Sockets.TcpListener listener, CancellationToken stop)
    {
        var page = "<!doctype html><title>app</title>"u8.ToArray();
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {page.Length}\r\nConnection: close\r\n\r\n");
        try
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync(stop);
                var stream = client.GetStream();
                await ReadRequestAsync(stream, stop);
                await stream.WriteAsync(head, stop);
                await stream.WriteAsync(page, stop);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException or IOException)
        {
            // The test is done with it.
        }
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

    private static async Task CreateAsync(HttpClient http, string tradeId, string account, string path = "/v1/trades")
    {
        using var body = new StringContent($$"""{"tradeId":"{{tradeId}}","account":"{{account}}","symbol":"AAPL","side":"buy","quantity":"1","price":"2.5"}""", Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(path, body, TestContext.Current.CancellationToken);
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

    /// <summary>Waits until the server's <c>/metrics</c> counts <paramref name="count"/> open change-feed streams.</summary>
    private static async Task WaitForSubscribersAsync(HttpClient http, int count)
    {
        // A guard against a hung test, not a speed assertion.
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        patience.CancelAfter(TimeSpan.FromSeconds(60));
        var value = $" {count}";
        while (!(await http.GetStringAsync("/metrics", patience.Token)).Split('\n')
            .Any(line => line.StartsWith("tradestore_changes_subscribers", StringComparison.Ordinal) && line.EndsWith(value, StringComparison.Ordinal)))
        {
            await Task.Delay(50, patience.Token);
        }
    }

    private static List<string> Lines(TradeStoreProcess process) =>
        [.. process.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith('{'))];

    /// <summary>A gateway that mounts the server under <paramref name="prefix"/> and answers 404 outside it.</summary>
    private sealed class UnderPrefix(string prefix) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (!context.Request.Path.StartsWithSegments(prefix, out var rest))
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }

                context.Request.PathBase = prefix;
                context.Request.Path = rest;
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
