using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TradeStore.Core.Security;
using TradeStore.Core.Trades;
using TradeStore.Server.Changes;
using TradeStore.Storage.Engine;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Changes;

/// <summary><c>GET /v1/changes</c> on a real Kestrel socket: resume, live switch, filters, scope, back-pressure, heartbeats.</summary>
public sealed class ChangeFeedTests
{
    /// <summary>A guard against a hung test, never an assertion on speed.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Changes_ResumeByLastEventIdWhile5000TradesPerSecondAreWritten_NoGapNoRepeat()
    {
        await using var host = await KestrelHost.StartAsync();
        using var patience = Cancel();
        await host.CreateAsync("H-", 1, 3000); // history to replay
        using var writing = CancellationTokenSource.CreateLinkedTokenSource(patience.Token);
        var writer = WriteAtRateAsync(host, tradesPerSecond: 5000, writing.Token);
        using var http = host.Client();

        var seen = new List<long>();
        await using (var first = await SseStream.OpenAsync(http, "/v1/changes?fromSeq=1", cancellationToken: patience.Token))
        {
            // Past the replay of the history into the live feed, then away.
            while (seen.Count < 6000)
            {
                seen.Add(SseStream.Seq((await first.NextAsync())!.Value));
            }
        }

        await using var second = await SseStream.OpenAsync(http, "/v1/changes?fromSeq=1", lastEventId: seen[^1].ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken: patience.Token);
        while (seen.Count < 12_000)
        {
            seen.Add(SseStream.Seq((await second.NextAsync())!.Value));
        }

        await writing.CancelAsync();
        var last = await writer;
        while (seen[^1] < last)
        {
            seen.Add(SseStream.Seq((await second.NextAsync())!.Value));
        }

        Assert.Equal(Enumerable.Range(1, (int)last).Select(i => (long)i), seen);
    }

    [Fact]
    public async Task Changes_EventFrame_CarriesSeqTypeVersionRecordedAtAndTrade()
    {
        await using var host = await KestrelHost.StartAsync();
        using var patience = Cancel();
        using var http = host.Client();
        await using var stream = await SseStream.OpenAsync(http, "/v1/changes", cancellationToken: patience.Token);
        Assert.Equal("text/event-stream", stream.Response.Content.Headers.ContentType?.MediaType);

        await host.CreateAsync("F-", 1, 1);
        var fill = await host.Commands.SubmitAsync(new FillTrade("F-1", 4, 1.25m), patience.Token);
        Assert.True(fill.Succeeded);

        var created = (await stream.NextAsync())!.Value;
        var filled = (await stream.NextAsync())!.Value;
        Assert.Equal(("1", "create"), (created.EventId, created.EventType));
        Assert.Equal(("2", "fill"), (filled.EventId, filled.EventType));
        var data = JsonDocument.Parse(filled.Data).RootElement;
        Assert.Equal(2, data.GetProperty("seq").GetInt64());
        Assert.Equal("fill", data.GetProperty("type").GetString());
        Assert.Equal(2, data.GetProperty("version").GetInt64());
        Assert.EndsWith("Z", data.GetProperty("recordedAt").GetString(), StringComparison.Ordinal);
        Assert.Equal("4", data.GetProperty("lastQuantity").GetRawText());
        Assert.Equal("F-1", data.GetProperty("trade").GetProperty("tradeId").GetString());
        Assert.Equal("partially_filled", data.GetProperty("trade").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Changes_ScopedKey_SeesOnlyItsAccountsAndMayNotAskForOthers()
    {
        await using var host = await KestrelHost.StartAsync(keys: new()
        {
            ["reader-a"] = (ApiRoles.Reader, ["ACC-A"]),
            ["admin"] = (ApiRoles.Admin, []),
        });
        using var patience = Cancel();
        await host.CreateAsync("A-", 1, 3, account: "ACC-A");
        await host.CreateAsync("B-", 1, 3, account: "ACC-B");
        await host.CreateAsync("A-", 4, 2, account: "ACC-A", symbol: "MSFT");
        using var reader = host.Client("reader-a");

        var accounts = new List<string>();
        await using (var stream = await SseStream.OpenAsync(reader, "/v1/changes?fromSeq=1", cancellationToken: patience.Token))
        {
            await host.CreateAsync("B-", 4, 1, account: "ACC-B");
            await host.CreateAsync("A-", 6, 1, account: "ACC-A");
            while (accounts.Count < 6)
            {
                var data = JsonDocument.Parse((await stream.NextAsync())!.Value.Data).RootElement;
                accounts.Add(data.GetProperty("trade").GetProperty("tradeId").GetString()!);
            }
        }

        Assert.Equal(["A-1", "A-2", "A-3", "A-4", "A-5", "A-6"], accounts);

        using var other = await reader.GetAsync("/v1/changes?account=ACC-B", patience.Token);
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Equal("application/problem+json", other.Content.Headers.ContentType?.MediaType);
        var refusal = JsonDocument.Parse(await other.Content.ReadAsStringAsync(patience.Token)).RootElement;
        Assert.Equal("account", refusal.GetProperty("field").GetString());
        // Worded as a list's refusal, naming the key's own accounts (docs/security.md), so the caller sees what it may follow.
        Assert.Equal("This key may not read account ACC-B; it reads only ACC-A.", refusal.GetProperty("detail").GetString());

        // The admin's symbol filter: only MSFT, of every account.
        using var admin = host.Client("admin");
        await using var msft = await SseStream.OpenAsync(admin, "/v1/changes?fromSeq=1&symbol=MSFT", cancellationToken: patience.Token);
        var first = JsonDocument.Parse((await msft.NextAsync())!.Value.Data).RootElement.GetProperty("trade");
        var second = JsonDocument.Parse((await msft.NextAsync())!.Value.Data).RootElement.GetProperty("trade");
        Assert.Equal(("A-4", "MSFT", "A-5", "MSFT"),
            (first.GetProperty("tradeId").GetString(), first.GetProperty("symbol").GetString(), second.GetProperty("tradeId").GetString(), second.GetProperty("symbol").GetString()));
    }

    [Fact]
    public async Task Changes_SlowConsumer_DisconnectedWithResumeSeqWhileWriterGoesOn()
    {
        await using var host = await KestrelHost.StartAsync(new() { ["TRADESTORE__CHANGES__MAXLAGEVENTS"] = "500" }, configure: b => b.Logging.AddFakeLogging());
        using var patience = Cancel();
        var feed = host.App.Services.GetRequiredService<ChangeFeed>();
        // A small receive window, so the kernel's buffers cannot hide a consumer that reads nothing.
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, token) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
                await socket.ConnectAsync(context.DnsEndPoint, token);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var http = host.Client(handler: handler);
        await using var stuck = await SseStream.OpenAsync(http, "/v1/changes", cancellationToken: patience.Token);

        // The consumer reads nothing while the writer goes on: every write is acknowledged regardless.
        var written = 0;
        while (feed.LaggingDisconnects == 0)
        {
            Assert.True(written < 500_000, "the stuck subscriber was never disconnected");
            await host.CreateAsync("S-", written + 1, 1000);
            written += 1000;
        }

        await host.CreateAsync("S-", written + 1, 1000);
        written += 1000;

        var seqs = new List<long>();
        ErrorEvent? end = null;
        while (await stuck.NextAsync() is { } item)
        {
            if (item.EventType == "error")
            {
                end = new ErrorEvent(item.Data);
                break;
            }

            seqs.Add(SseStream.Seq(item));
        }

        Assert.NotNull(end);
        Assert.Null(await stuck.NextAsync()); // closed after the error
        Assert.Equal(Enumerable.Range(1, seqs.Count).Select(i => (long)i), seqs);
        var error = JsonDocument.Parse(end.Data).RootElement;
        Assert.Equal("urn:tradestore:problem:lagging", error.GetProperty("type").GetString());
        var resume = error.GetProperty("resumeFromSeq").GetInt64();
        Assert.Equal(seqs.Count + 1, resume);
        // The log names who was cut off (until 2026-12-05 it did not: with many readers, which one?).
        Assert.Contains("subscriber (no key) from 127.0.0.1 disconnected", Assert.Single(host.App.Services.GetFakeLogCollector().Messages(1400)), StringComparison.Ordinal);

        // Resuming where it says misses nothing. Opened once DuckDB holds every write: the feed is told of commits after
        // the apply, and a batch still being applied (1,000 events) would be more than this test's bound of 500 at once.
        var engine = host.App.Services.GetRequiredService<WriteEngine>();
        Assert.True(engine.WaitApplied(engine.LastSeq, TimeSpan.FromSeconds(30)));
        using var again = host.Client();
        await using var resumed = await SseStream.OpenAsync(again, $"/v1/changes?fromSeq={resume}", cancellationToken: patience.Token);
        for (var expected = resume; expected <= written; expected++)
        {
            Assert.Equal(expected, SseStream.Seq((await resumed.NextAsync())!.Value));
        }
    }

    /// <summary>
    /// The stream opens with an <c>id:</c> of the seq it starts after (no data, so no event), which a client keeps as
    /// its last event id: reconnecting before its first event, it resumes there instead of at "now".
    /// </summary>
    [Theory]
    [InlineData("/v1/changes", "3")]
    [InlineData("/v1/changes?fromSeq=2", "1")]
    public async Task Changes_Opening_SetsTheLastEventIdToWhereTheStreamStarts(string path, string expected)
    {
        await using var host = await KestrelHost.StartAsync();
        using var patience = Cancel();
        await host.CreateAsync("O-", 1, 3);
        using var http = host.Client();
        using var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, patience.Token);
        using var body = new StreamReader(await response.Content.ReadAsStreamAsync(patience.Token));

        var opening = new List<string>();
        for (var line = await body.ReadLineAsync(patience.Token); !string.IsNullOrEmpty(line); line = await body.ReadLineAsync(patience.Token))
        {
            opening.Add(line);
        }

        Assert.Equal($"id: {expected}", Assert.Single(opening, line => line.StartsWith("id:", StringComparison.Ordinal)));
        Assert.DoesNotContain(opening, line => line.StartsWith("data:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Changes_IdleStream_SendsHeartbeatComments()
    {
        await using var host = await KestrelHost.StartAsync(new() { ["TRADESTORE__CHANGES__HEARTBEATINTERVAL"] = "00:00:00.200" });
        using var patience = Cancel();
        using var http = host.Client();
        using var response = await http.GetAsync("/v1/changes", HttpCompletionOption.ResponseHeadersRead, patience.Token);
        using var body = new StreamReader(await response.Content.ReadAsStreamAsync(patience.Token));
        string? line;
        while ((line = await body.ReadLineAsync(patience.Token)) != ": heartbeat")
        {
            Assert.NotNull(line);
        }
    }

    [Fact]
    public async Task Changes_FilteredStreamWhileOtherAccountsAreWritten_StillSendsHeartbeats()
    {
        await using var host = await KestrelHost.StartAsync(new() { ["TRADESTORE__CHANGES__HEARTBEATINTERVAL"] = "00:00:00.200" });
        using var patience = Cancel();
        using var writing = CancellationTokenSource.CreateLinkedTokenSource(patience.Token);
        // Commits of ACC-1 wake the stream all the time, and none of them is for it.
        var writer = WriteAtRateAsync(host, tradesPerSecond: 1000, writing.Token);
        using var http = host.Client();
        using var response = await http.GetAsync("/v1/changes?account=ACC-2", HttpCompletionOption.ResponseHeadersRead, patience.Token);
        using var body = new StreamReader(await response.Content.ReadAsStreamAsync(patience.Token));
        // Many intervals of silence for this subscriber, whatever the machine's speed.
        using var enough = CancellationTokenSource.CreateLinkedTokenSource(patience.Token);
        enough.CancelAfter(TimeSpan.FromSeconds(20));

        var heartbeat = false;
        try
        {
            string? line;
            while ((line = await body.ReadLineAsync(enough.Token)) is not null)
            {
                Assert.DoesNotContain("ACC-1", line);
                if (line == ": heartbeat")
                {
                    heartbeat = true;
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (enough.IsCancellationRequested && !patience.IsCancellationRequested)
        {
        }

        await writing.CancelAsync();
        Assert.True(await writer > 0, "nothing was written meanwhile");
        Assert.True(heartbeat, "no heartbeat in 20 s while another account's commits kept waking the stream");
    }

    [Fact]
    public async Task Changes_MaxSubscribersOpen_503ProblemWithRetryAfter()
    {
        await using var host = await KestrelHost.StartAsync(new() { ["TRADESTORE__CHANGES__MAXSUBSCRIBERS"] = "1" });
        using var patience = Cancel();
        using var http = host.Client();
        using var held = await http.GetAsync("/v1/changes", HttpCompletionOption.ResponseHeadersRead, patience.Token);
        Assert.Equal(HttpStatusCode.OK, held.StatusCode);

        using var refused = await http.GetAsync("/v1/changes", patience.Token);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(ChangeProblems.TooManySubscribersRetryAfterSeconds), refused.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync(patience.Token)).RootElement;
        Assert.Equal("urn:tradestore:problem:too-many-subscribers", problem.GetProperty("type").GetString());
        Assert.Contains("retry in 5 s", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// An open stream is not a request in progress: with <c>Security:ConcurrentRequests=2</c> and three streams open, the
    /// same caller's reads and writes are still served, and a fourth stream opens (three held that caller's every other
    /// request at 429, though <c>Changes:MaxSubscribers</c> was far off).
    /// </summary>
    [Fact]
    public async Task Changes_MoreStreamsOpenThanConcurrentRequests_OtherRequestsAndStreamsStillServed()
    {
        await using var host = await KestrelHost.StartAsync(new() { ["TRADESTORE__SECURITY__CONCURRENTREQUESTS"] = "2" });
        using var patience = Cancel();
        using var http = host.Client();
        var streams = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                streams.Add(await http.GetAsync("/v1/changes", HttpCompletionOption.ResponseHeadersRead, patience.Token));
                Assert.Equal(HttpStatusCode.OK, streams[^1].StatusCode);
            }

            using var read = await http.GetAsync("/v1/trades", patience.Token);
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
            using var write = await http.PostAsync("/v1/trades", new StringContent(
                """{"tradeId":"T-STREAMS","account":"ACC-1","symbol":"AAPL","side":"buy","quantity":"1","price":"2"}""",
                System.Text.Encoding.UTF8, "application/json"), patience.Token);
            Assert.Equal(HttpStatusCode.Created, write.StatusCode);
        }
        finally
        {
            streams.ForEach(stream => stream.Dispose());
        }
    }

    /// <summary>
    /// One key could hold every one of <c>Changes:MaxSubscribers</c> slots (its own request limit, 256 in progress, is
    /// above the 100 slots), so a leaking or hostile reader locked every other key out of the feed. A key at
    /// <c>Changes:MaxSubscribersPerKey</c> now gets 429 for itself alone; another key still subscribes, and the key gets
    /// its slot back when one of its streams ends.
    /// </summary>
    [Fact]
    public async Task Changes_KeyHoldsItsShareOfStreams_429ForThatKeyOnlyUntilOneEnds()
    {
        await using var host = await KestrelHost.StartAsync(
            new() { ["TRADESTORE__CHANGES__MAXSUBSCRIBERSPERKEY"] = "2", ["TRADESTORE__CHANGES__HEARTBEATINTERVAL"] = "00:00:00.200" },
            keys: new() { ["greedy"] = ("reader", []), ["other"] = ("reader", []) });
        using var patience = Cancel();
        using var greedy = host.Client("greedy");
        var first = await greedy.GetAsync("/v1/changes", HttpCompletionOption.ResponseHeadersRead, patience.Token);
        using var second = await greedy.GetAsync("/v1/changes", HttpCompletionOption.ResponseHeadersRead, patience.Token);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);

        using var refused = await greedy.GetAsync("/v1/changes", patience.Token);
        using var other = host.Client("other");
        using var admitted = await other.GetAsync("/v1/changes", HttpCompletionOption.ResponseHeadersRead, patience.Token);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(ChangeProblems.TooManySubscribersRetryAfterSeconds), refused.Headers.RetryAfter?.Delta);
        var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync(patience.Token)).RootElement;
        Assert.Equal("urn:tradestore:problem:too-many-requests", problem.GetProperty("type").GetString());
        Assert.Contains("Key greedy holds 2 change streams already (Changes:MaxSubscribersPerKey)", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
        Assert.Equal(3, host.App.Services.GetRequiredService<ChangeFeed>().StreamCount);

        first.Dispose();
        HttpStatusCode again;
        do
        {
            // The server notices the closed stream at its next heartbeat; until then the slot is still held.
            using var retry = await greedy.GetAsync("/v1/changes", HttpCompletionOption.ResponseHeadersRead, patience.Token);
            again = retry.StatusCode;
            if (again != HttpStatusCode.OK)
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, again);
                await Task.Delay(100, patience.Token);
            }
        }
        while (again != HttpStatusCode.OK);
    }

    /// <summary>
    /// A resume point past the journal (head 3, Last-Event-ID 500: a server whose data was replaced) was followed from
    /// there, so events 4..500 were never delivered and nothing said so. It is now the 503 of <c>?minSeq=</c>, naming
    /// the field, before any byte of a stream.
    /// </summary>
    [Theory]
    [InlineData("/v1/changes", "500", "Last-Event-ID", "seq 4..500")]
    [InlineData("/v1/changes?fromSeq=501", null, "fromSeq", "seq 4..500")]
    [InlineData("/v1/changes?fromSeq=5", null, "fromSeq", "seq 4..4")]
    [InlineData("/v1/changes?fromSeq=1", "4", "Last-Event-ID", "seq 4..4")]
    public async Task Changes_PositionPastTheJournal_503SeqNotReachedNamingTheFieldWithRetryAfter(string path, string? lastEventId, string field, string missing)
    {
        await using var host = await KestrelHost.StartAsync(new() { ["TRADESTORE__CLUSTER__READWAITTIMEOUT"] = "00:00:00.200" });
        using var patience = Cancel();
        await host.CreateAsync("P-", 1, 3);
        using var http = host.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        // Headers only: without the fix the answer was an endless stream.
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, patience.Token);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(patience.Token)).RootElement;
        Assert.Equal("urn:tradestore:problem:seq-not-reached", problem.GetProperty("type").GetString());
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Contains("holds the journal up to seq 3", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains(missing, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, host.App.Services.GetRequiredService<ChangeFeed>().StreamCount);
    }

    /// <summary>The next event after the journal's end is a valid resume point (the stream waits for the next commit).</summary>
    [Theory]
    [InlineData("/v1/changes?fromSeq=4", null)]
    [InlineData("/v1/changes", "3")]
    public async Task Changes_ResumeAtTheJournalsEndPlusOne_StreamsTheNextCommit(string path, string? lastEventId)
    {
        await using var host = await KestrelHost.StartAsync(new() { ["TRADESTORE__CLUSTER__READWAITTIMEOUT"] = "00:00:00" });
        using var patience = Cancel();
        await host.CreateAsync("N-", 1, 3);
        using var http = host.Client();
        await using var stream = await SseStream.OpenAsync(http, path, lastEventId, patience.Token);
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);

        await host.CreateAsync("N-", 4, 1);

        var next = (await stream.NextAsync())!.Value;
        Assert.Equal("4", next.EventId);
        Assert.Equal("N-4", JsonDocument.Parse(next.Data).RootElement.GetProperty("trade").GetProperty("tradeId").GetString());
    }

    /// <summary>A position a little ahead (a follower catching up, a leader between commit and publish) waits for it, as <c>?minSeq=</c> does.</summary>
    [Fact]
    public async Task Changes_PositionReachedWithinReadWaitTimeout_StreamsFromIt()
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The longest wait allowed, so "reached while waiting" holds however slow the machine is.
        await using var host = await KestrelHost.StartAsync(new() { ["TRADESTORE__CLUSTER__READWAITTIMEOUT"] = "00:00:30" },
            configure: builder => builder.Services.AddSingleton<IStartupFilter>(new OnRequest(ChangesEndpoint.Path, arrived)));
        using var patience = Cancel();
        await host.CreateAsync("W-", 1, 3);
        using var http = host.Client();
        var opening = SseStream.OpenAsync(http, "/v1/changes?fromSeq=5", cancellationToken: patience.Token);
        await arrived.Task.WaitAsync(patience.Token);
        await host.CreateAsync("W-", 4, 3);

        await using var stream = await opening;
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        var first = (await stream.NextAsync())!.Value;
        Assert.Equal(("5", "W-5"), (first.EventId, JsonDocument.Parse(first.Data).RootElement.GetProperty("trade").GetProperty("tradeId").GetString()));
    }

    [Theory]
    [InlineData("/v1/changes?fromSeq=0", null, "fromSeq")]
    [InlineData("/v1/changes?fromSeq=abc", null, "fromSeq")]
    [InlineData("/v1/changes?acount=ACC-1", null, "acount")]
    [InlineData("/v1/changes", "twelve", "Last-Event-ID")]
    [InlineData("/v1/changes?fromSeq=abc", "0", "fromSeq")] // was ignored because Last-Event-ID wins: a 200 stream
    [InlineData("/v1/changes?fromSeq=0", "3", "fromSeq")] // was ignored: a 503 seq-not-reached for Last-Event-ID after a second's wait
    public async Task Changes_BadPosition_400NamingTheField(string path, string? lastEventId, string field)
    {
        await using var host = await KestrelHost.StartAsync();
        using var http = host.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode); // before the body: a stream that opened would never end
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Equal("urn:tradestore:problem:validation", problem.GetProperty("type").GetString());
    }

    private static CancellationTokenSource Cancel()
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(Patience);
        return cts;
    }

    /// <summary>Creates trades W-1, W-2, … at about <paramref name="tradesPerSecond"/> until cancelled; returns the last seq written.</summary>
    private static async Task<long> WriteAtRateAsync(KestrelHost host, int tradesPerSecond, CancellationToken cancellationToken)
    {
        const int perTick = 50;
        var interval = TimeSpan.FromSeconds((double)perTick / tradesPerSecond);
        using var timer = new PeriodicTimer(interval);
        var next = 1;
        long last = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var pending = new List<ValueTask<CommandResult>>(perTick);
                for (var i = 0; i < perTick; i++)
                {
                    pending.Add(host.Commands.SubmitAsync(new CreateTrade($"W-{next++}", "ACC-1", "AAPL", Side.Buy, 1, 1), CancellationToken.None));
                }

                foreach (var result in pending)
                {
                    last = Math.Max(last, (await result).Trade!.LastSeq);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        return last;
    }

    private sealed record ErrorEvent(string Data);

    /// <summary>Completes <paramref name="arrived"/> when a request for <paramref name="path"/> enters the pipeline.</summary>
    private sealed class OnRequest(string path, TaskCompletionSource arrived) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (context.Request.Path == path)
                {
                    arrived.TrySetResult();
                }

                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
