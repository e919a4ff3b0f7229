using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TradeStore.Core.Trades;
using TradeStore.Server.Changes;
using TradeStore.Server.Security;
using TradeStore.Storage.Journal;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Changes;

/// <summary>
/// <c>Changes:HeartbeatInterval</c> is the longest silence on a stream, on a clock the test moves: a proxy's idle
/// timeout is what an operator picks it below.
/// </summary>
public sealed class ChangeHeartbeatTests
{
    /// <summary>A guard against a hung test, never an assertion on speed.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private static readonly DateTimeOffset At = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Seen with <c>tradestore serve</c> and an interval of 4 s: an event 0.5 s after a heartbeat, the next heartbeat 6.8 s
    /// after the event. The timer ticked every interval whatever was written, and a tick that found less than an interval of
    /// silence waited for the next one, so a write just after a tick made the silence last almost two intervals.
    /// </summary>
    [Fact]
    public async Task Follow_EventHalfAnIntervalAfterAHeartbeat_NextHeartbeatAnIntervalAfterTheEvent()
    {
        var clock = new FakeTimeProvider(At);
        using var meters = new TestMeters();
        var options = new ChangeFeedOptions { HeartbeatInterval = Interval };
        var feed = new ChangeFeed(Options.Create(options), meters.Factory);
                var pipe = new Pipe();
        using var leave = new CancellationTokenSource();
        using var patience = new CancellationTokenSource(Patience);
        var stream = new ChangeStream(feed, new EmptyJournal(), options, clock, NullLogger.Instance, "test");
        var running = stream.RunAsync(pipe.Writer, 0, new ChangeFilter(AccountScope.Everything, null, null), leave.Token, CancellationToken.None);

        while (!feed.IsListening)
        {
            await Task.Delay(10, patience.Token);
        }

        // Only published, never in the journal: so the stream writes it live, from the loop whose timer ticks at
        // Interval, 2 × Interval, … of the clock, which has not moved yet.
        Commit(feed, 1);
        Assert.Contains("id: 1", await NextFrameAsync(pipe.Reader, patience.Token), StringComparison.Ordinal);
        clock.Advance(Interval);
        Assert.Equal(": heartbeat", await NextFrameAsync(pipe.Reader, patience.Token));

        clock.Advance(Interval / 2);
        Commit(feed, 2);
        Assert.Contains("id: 2", await NextFrameAsync(pipe.Reader, patience.Token), StringComparison.Ordinal);
        clock.Advance(Interval / 2); // the timer's tick: half an interval of silence, no heartbeat due yet
        // Real time for the stream to take that tick before the clock moves on (taken later, it would find a whole interval
        // of silence); not an assertion on speed: the stream passes this test however long it takes.
        await Task.Delay(TimeSpan.FromMilliseconds(500), patience.Token);
        clock.Advance(Interval / 2); // a whole interval after event 2

        // Before the fix nothing came until the tick at 3 × Interval, and this read waited out the test's patience.
        Assert.Equal(": heartbeat", await NextFrameAsync(pipe.Reader, patience.Token));

        await leave.CancelAsync();
        await running;
    }

    /// <summary>
    /// <c>?account=</c> of an account with no event in a long journal: the replay read page after page and wrote nothing
    /// of them, and heartbeats came only once it followed live, so a proxy closed the silent stream before its first
    /// event. Each page here takes an interval of the clock; a heartbeat now follows each page read in silence.
    /// </summary>
    [Fact]
    public async Task Replay_FilteredPagesWithNothingToWriteForAnInterval_HeartbeatsBeforeTheFirstEvent()
    {
        var clock = new FakeTimeProvider(At);
        using var meters = new TestMeters();
        var options = new ChangeFeedOptions { HeartbeatInterval = Interval };
        var feed = new ChangeFeed(Options.Create(options), meters.Factory);
        var pipe = new Pipe();
        using var leave = new CancellationTokenSource();
        using var patience = new CancellationTokenSource(Patience);
        const int pages = 3;
        var journal = new OtherAccountJournal(clock, pages * ChangeStream.ReplayPageSize, Interval);
        var stream = new ChangeStream(feed, journal, options, clock, NullLogger.Instance, "test");
        var running = stream.RunAsync(pipe.Writer, 0, new ChangeFilter(AccountScope.Everything, "ACC-2", null), leave.Token, CancellationToken.None);

        while (!feed.IsListening)
        {
            await Task.Delay(10, patience.Token);
        }

        Commit(feed, journal.LastSeq() + 1, "ACC-2");
        var frames = new List<string>();
        while (frames.Count == 0 || !frames[^1].StartsWith("id: ", StringComparison.Ordinal))
        {
            frames.Add(await NextFrameAsync(pipe.Reader, patience.Token));
        }

        // Before the fix: only the live event, after three intervals of silence.
        Assert.Equal(Enumerable.Repeat(": heartbeat", pages).Append("id: 3001"), frames.Select(f => f.Split('\n')[0]));

        await leave.CancelAsync();
        await running;
    }

    private static void Commit(ChangeFeed feed, long seq, string account = "ACC-1") => feed.OnCommitted([Event(seq, account)]);

    private static TradeEvent Event(long seq, string account)
    {
        var state = new Trade($"T-{seq}", account, "AAPL", Side.Buy, 10m, 1.5m, 0m, 0m, TradeStatus.New, null, null, At, 1, seq, At, At);
        return new TradeEvent(seq, TradeEventType.Create, state, null, null, At, null);
    }

    /// <summary>The next Server-Sent Events frame (the lines before a blank line), without its line breaks at the end.</summary>
    private static async Task<string> NextFrameAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await reader.ReadAsync(cancellationToken);
            var text = Encoding.UTF8.GetString(read.Buffer);
            var end = text.IndexOf("\n\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                reader.AdvanceTo(read.Buffer.GetPosition(Encoding.UTF8.GetByteCount(text.AsSpan(0, end + 2))));
                return text[..end];
            }

            Assert.False(read.IsCompleted, $"the stream ended inside a frame: '{text}'");
            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    /// <summary>
    /// A journal of <paramref name="count"/> events of account ACC-1 whose every read of a page takes <paramref name="perPage"/>
    /// of <paramref name="clock"/>, as DuckDB's pages of a long journal take real time.
    /// </summary>
    private sealed class OtherAccountJournal(FakeTimeProvider clock, long count, TimeSpan perPage) : IJournalSource
    {
        public List<TradeEvent> ReadAfter(long afterSeq, int limit)
        {
            if (afterSeq >= count)
            {
                return [];
            }

            clock.Advance(perPage);
            return [.. Enumerable.Range(1, (int)Math.Min(limit, count - afterSeq)).Select(i => Event(afterSeq + i, "ACC-1"))];
        }

        public long LastSeq() => count;
    }

    /// <summary>A journal with nothing to replay: every event of the test reaches the stream live.</summary>
    private sealed class EmptyJournal : IJournalSource
    {
        public List<TradeEvent> ReadAfter(long afterSeq, int limit) => [];

        public long LastSeq() => 0;
    }
}
