using System.Buffers;
using System.IO.Pipelines;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TradeStore.Core.Trades;
using TradeStore.Server.Changes;
using TradeStore.Server.Security;
using TradeStore.Storage.Journal;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Changes;

/// <summary>
/// A live commit batch reaches the stream's response in pieces of about <see cref="ChangeStream.FlushBytes"/>, each flushed
/// before the next is copied, yet every frame still parses as one event, in seq order, and a stream closed mid-batch
/// names the seq after the last frame the client got.
/// </summary>
public sealed class ChangeLiveWriteTests
{
    /// <summary>A guard against a hung test, never an assertion on speed.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private static readonly DateTimeOffset At = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Before: the whole batch (here 5,000 events, about 2.4 MB) was copied into the response and then flushed, so the
    /// reader's first read held all of it. The pipe pauses its writer at 64 KB unread, as Kestrel's response does.
    /// </summary>
    [Fact]
    public async Task Follow_BatchOfMegabytes_ReachesTheReaderInFlushedPiecesThatStillParseOneEventEach()
    {
        const int count = 5_000;
        using var patience = new CancellationTokenSource(Patience);
        using var leave = new CancellationTokenSource();
        using var meters = new TestMeters();
        var (feed, pipe, running) = await FollowAsync(meters, leave.Token, CancellationToken.None, patience.Token);

        feed.OnCommitted(Events(1, count));
        var all = new ArrayBufferWriter<byte>();
        var largestRead = 0L;
        while (CountFrames(all.WrittenSpan) < count)
        {
            var read = await pipe.Reader.ReadAsync(patience.Token);
            largestRead = Math.Max(largestRead, read.Buffer.Length);
            foreach (var piece in read.Buffer)
            {
                all.Write(piece.Span);
            }

            pipe.Reader.AdvanceTo(read.Buffer.End);
        }

        await leave.CancelAsync();
        await running;

        Assert.True(all.WrittenCount > 2_000_000, $"{all.WrittenCount} bytes");
        Assert.InRange(largestRead, 1, 2 * ChangeStream.FlushBytes);
        var items = await ParseAsync(all.WrittenMemory, patience.Token);
        Assert.Equal(Enumerable.Range(1, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), items.Select(i => i.EventId));
        Assert.All(items, item => Assert.Equal(long.Parse(item.EventId!, System.Globalization.CultureInfo.InvariantCulture), JsonDocument.Parse(item.Data).RootElement.GetProperty("seq").GetInt64()));
    }

    /// <summary>
    /// The server stops while a stream waits for its reader in the middle of a batch: the frames already handed to the
    /// response reach the client, and the final event's resume seq is the one after the last of them, so nothing is lost
    /// or repeated however far into the batch the stream had got.
    /// </summary>
    [Fact]
    public async Task Follow_StoppedWhileTheReaderLagsMidBatch_ResumeSeqFollowsTheLastFrameSent()
    {
        const int count = 3_000;
        using var patience = new CancellationTokenSource(Patience);
        using var stopping = new CancellationTokenSource();
        using var meters = new TestMeters();
        var (feed, pipe, running) = await FollowAsync(meters, CancellationToken.None, stopping.Token, patience.Token);

        feed.OnCommitted(Events(1, count));
        // The reader looks at what has arrived but takes none of it, so the stream's flush waits for it.
        var first = await pipe.Reader.ReadAsync(patience.Token);
        pipe.Reader.AdvanceTo(first.Buffer.Start, first.Buffer.End);
        await stopping.CancelAsync();

        var reading = Task.Run(async () =>
        {
            var all = new ArrayBufferWriter<byte>();
            while (true)
            {
                var read = await pipe.Reader.ReadAsync(patience.Token);
                foreach (var piece in read.Buffer)
                {
                    all.Write(piece.Span);
                }

                pipe.Reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    return all.WrittenMemory;
                }
            }
        }, patience.Token);
        await running;
        await pipe.Writer.CompleteAsync();
        var items = await ParseAsync(await reading, patience.Token);

        var events = items.Where(i => i.EventType != "error").ToList();
        Assert.InRange(events.Count, 1, count - 1); // stopped mid-batch, not after it
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(i => long.Parse(i.EventId!, System.Globalization.CultureInfo.InvariantCulture)));
        var end = Assert.Single(items, i => i.EventType == "error");
        var error = JsonDocument.Parse(end.Data).RootElement;
        Assert.Equal("urn:tradestore:problem:shutdown", error.GetProperty("type").GetString());
        Assert.Equal(events.Count + 1, error.GetProperty("resumeFromSeq").GetInt64());
    }

    /// <summary>A stream following the feed live (nothing to replay), writing into a pipe that pauses its writer at 64 KB unread.</summary>
    private static async Task<(ChangeFeed Feed, Pipe Pipe, Task Running)> FollowAsync(TestMeters meters, CancellationToken leave, CancellationToken stopping, CancellationToken patience)
    {
        var options = new ChangeFeedOptions();
        var feed = new ChangeFeed(Options.Create(options), meters.Factory);
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024));
        var stream = new ChangeStream(feed, new EmptyJournal(), options, TimeProvider.System, NullLogger.Instance, "test");
        var running = stream.RunAsync(pipe.Writer, 0, new ChangeFilter(AccountScope.Everything, null, null), leave, stopping);
        while (!feed.IsListening)
        {
            await Task.Delay(10, patience);
        }

        return (feed, pipe, running);
    }

    private static int CountFrames(ReadOnlySpan<byte> bytes)
    {
        var frames = 0;
        for (var at = bytes.IndexOf("\n\n"u8); at >= 0; at = bytes.IndexOf("\n\n"u8))
        {
            frames++;
            bytes = bytes[(at + 2)..];
        }

        return frames;
    }

    /// <summary>The events the runtime's own SSE parser finds in <paramref name="bytes"/>.</summary>
    private static async Task<List<SseItem<string>>> ParseAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        var items = new List<SseItem<string>>();
        await foreach (var item in SseParser.Create(new MemoryStream(bytes.ToArray())).EnumerateAsync(cancellationToken))
        {
            items.Add(item);
        }

        return items;
    }

    private static List<TradeEvent> Events(long firstSeq, int count) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var seq = firstSeq + i;
            var state = new Trade($"T-{seq}", "ACC-1", "AAPL", Side.Buy, 100.5m, 10.125m, 0m, 0m, TradeStatus.New, "XNAS", null, At, 1, seq, At, At);
            return new TradeEvent(seq, TradeEventType.Create, state, null, null, At, null);
        })];

    /// <summary>A journal with nothing to replay: every event of the test reaches the stream live.</summary>
    private sealed class EmptyJournal : IJournalSource
    {
        public List<TradeEvent> ReadAfter(long afterSeq, int limit) => [];

        public long LastSeq() => 0;
    }
}
