using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using TradeStore.Core.Threading;
using TradeStore.Core.Trades;
using TradeStore.Storage.Journal;

namespace TradeStore.Server.Changes;

/// <summary>
/// Writes one subscriber's stream: the journal after a seq (replay), then the live feed, with no gap and no
/// repeat at the switch. The subscription is taken only once the replay is near the journal's end, and the
/// journal is read once more after it is taken, so an event is either read from the journal or queued live;
/// a live event at or below the last seq written is skipped, and a hole before a live event is filled from the
/// journal. Every event is examined in seq order, so "resume from the last id + 1" is always exact.
/// </summary>
/// <param name="subscriber">Who reads the stream, for the log: the key's name (or "no key") and the remote address.</param>
public sealed class ChangeStream(ChangeFeed feed, IJournalSource journal, ChangeFeedOptions options, TimeProvider time, ILogger logger, string subscriber)
{
    /// <summary>Events read from the journal per query during the replay.</summary>
    public const int ReplayPageSize = 1000;

    /// <summary>How long a closing stream may take to deliver its final <c>event: error</c> before the connection is dropped.</summary>
    public static readonly TimeSpan FinalEventGrace = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Bytes of live frames written to the response before it is flushed, even within a batch: Kestrel's response buffer
    /// (<c>MaxResponseBufferSize</c>, 64 KB by default) makes a flush wait above it anyway.
    /// </summary>
    /// <remarks>
    /// By design a commit batch is not written whole and then flushed: under load a batch is thousands of events, a
    /// megabyte per stream, which each of ten streams copied into fresh buffers of Kestrel's pool before the first byte
    /// was sent. In pieces of this size the same few buffers are sent and reused while they are still in the CPU's cache.
    /// </remarks>
    public const int FlushBytes = 64 * 1024;

    private static readonly byte[] Heartbeat = ": heartbeat\n\n"u8.ToArray();

    /// <summary>The silence after which a heartbeat is written: a tick a little early (timers are not exact) still counts as a full interval.</summary>
    private TimeSpan Silence => options.HeartbeatInterval - (options.HeartbeatInterval / 10);

    private long _after;
    private long _written;
    /// <summary>When the stream last wrote an event or a heartbeat (the opening, at first): silence is counted from it.</summary>
    private long _lastWrite;
    /// <summary>Bytes of live frames written since the last flush.</summary>
    private int _unflushed;

    /// <summary>Writes the stream to <paramref name="body"/> until the client leaves, the server stops, or the subscriber lags.</summary>
    /// <param name="body">The response body (headers already sent).</param>
    /// <param name="afterSeq">The last seq the client has; the stream starts at the next one.</param>
    /// <param name="filter">Which events to send.</param>
    /// <param name="aborted">The client left.</param>
    /// <param name="stopping">The server is shutting down.</param>
    public async Task RunAsync(PipeWriter body, long afterSeq, ChangeFilter filter, CancellationToken aborted, CancellationToken stopping)
    {
        _after = afterSeq;
        _lastWrite = time.GetTimestamp();
        // The replay reads DuckDB: not on the socket event thread the request arrived on.
        await SocketEventThreads.LeaveAsync();
        ChangeSubscription? subscription = null;
        using var run = CancellationTokenSource.CreateLinkedTokenSource(aborted, stopping);
        try
        {
            try
            {
                await ReplayAsync(body, filter, run.Token, run.Token);
                // Near the end: subscribe, then read the journal once more, so what committed meanwhile comes from one or the other.
                subscription = feed.Subscribe();
                using var live = CancellationTokenSource.CreateLinkedTokenSource(run.Token, subscription.Lagging);
                // By design a flush already waiting for a slow reader is not cut the moment it lags: Kestrel would reset
                // the connection and the final event naming the resume seq would be lost. It gets the final event's grace.
                using var flushLimit = CancellationTokenSource.CreateLinkedTokenSource(run.Token);
                using var onLagging = subscription.Lagging.Register(() => flushLimit.CancelAfter(FinalEventGrace));
                await ReplayAsync(body, filter, live.Token, flushLimit.Token);
                await FollowAsync(body, subscription, filter, live.Token, flushLimit.Token);
            }
            catch (OperationCanceledException) when (subscription is { IsLagging: true } && !aborted.IsCancellationRequested)
            {
                Log.ChangeSubscriberLagging(logger, subscriber, _after + 1, options.MaxLagEvents);
                await EndAsync(body, "lagging", "Subscriber too slow",
                    $"More than {options.MaxLagEvents} events (Changes:MaxLagEvents) waited for this stream, so it was closed; nothing was lost: reconnect with ?fromSeq={_after + 1}.",
                    aborted);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested && !aborted.IsCancellationRequested)
            {
                feed.CountDisconnect("shutdown");
                await EndAsync(body, "shutdown", "Server stopping", $"The server is shutting down; reconnect with ?fromSeq={_after + 1} when it is back.", aborted);
            }
            catch (ChangeGapException ex)
            {
                feed.CountDisconnect("gap");
                Log.ChangeFeedGap(logger, ex.Message);
                await EndAsync(body, "gap", "Stream interrupted", $"{ex.Message} Reconnect with ?fromSeq={_after + 1}.", aborted);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client left.
        }
        finally
        {
            subscription?.Dispose();
            if (_written > 0)
            {
                feed.CountSent((int)Math.Min(_written, int.MaxValue));
            }
        }
    }

    /// <summary>
    /// Writes the journal after the last seq written until a read comes back short (the end is near). By design a
    /// heartbeat is written after a page when nothing was written for an interval: a filtered replay of a long journal
    /// (<c>?account=</c> of a rare account from seq 1) reads page after page that it writes nothing of, and a proxy
    /// would otherwise close the silent stream before its first event.
    /// </summary>
    private async Task ReplayAsync(PipeWriter body, ChangeFilter filter, CancellationToken cancellationToken, CancellationToken flushToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var before = _written;
            var page = journal.ReadAfter(_after, ReplayPageSize);
            foreach (var journalEvent in page)
            {
                Write(body, journalEvent, filter);
            }

            if (_written != before)
            {
                _lastWrite = time.GetTimestamp();
            }
            else if (time.GetElapsedTime(_lastWrite) >= Silence)
            {
                body.Write(Heartbeat);
                _lastWrite = time.GetTimestamp();
            }

            await FlushAsync(body, flushToken);
            if (page.Count < ReplayPageSize)
            {
                return;
            }
        }
    }

    /// <remarks>
    /// By design the heartbeat is one timer per stream that wakes it every <c>Changes:HeartbeatInterval</c>, not a timed
    /// wait per wake: a stream wakes for every commit, and the timed wait made a timer and two token sources each time.
    /// That wait also never timed out while commits kept waking the stream, so a filtered stream whose events were all
    /// for other accounts got no heartbeat at all. A tick that comes before an interval of silence moves the next one to
    /// an interval after the last write: with a fixed period, a write just after a tick made the silence last almost two
    /// intervals (seen: 6.8 s with an interval of 4 s), past the proxy idle timeout the setting was chosen below.
    /// </remarks>
    private async Task FollowAsync(PipeWriter body, ChangeSubscription subscription, ChangeFilter filter, CancellationToken token, CancellationToken flushToken)
    {
        var interval = options.HeartbeatInterval;
        var silence = Silence;
        // Silence goes on from the replay: the first tick is due an interval after its last write, not after this start.
        var lastWrite = _lastWrite;
        var tickIn = interval - time.GetElapsedTime(lastWrite);
        tickIn = tickIn > TimeSpan.Zero ? tickIn : TimeSpan.Zero;
        using var heartbeat = time.CreateTimer(static state => ((ChangeSubscription)state!).Poke(), subscription, tickIn, interval);
        // When the timer is next due. Kept at or before an interval after the last write: a write only moves that later.
        var tickAt = time.GetTimestamp();
        while (true)
        {
            var before = _written;
            var any = false;
            while (subscription.TryTake(out var batch))
            {
                any = true;
                await WriteLiveAsync(body, batch, filter, flushToken);
            }

            token.ThrowIfCancellationRequested();
            if (any)
            {
                // Taken before the flush, which may wait for a slow reader: the silence is counted from the write, never later.
                if (_written != before)
                {
                    lastWrite = time.GetTimestamp();
                }

                await FlushAsync(body, flushToken);
                continue;
            }

            var quiet = time.GetElapsedTime(lastWrite);
            if (quiet >= silence)
            {
                body.Write(Heartbeat);
                lastWrite = time.GetTimestamp();
                (tickAt, tickIn) = (lastWrite, interval);
                heartbeat.Change(interval, interval);
                await FlushAsync(body, flushToken);
            }
            else if (time.GetElapsedTime(tickAt) >= tickIn - (interval / 10))
            {
                // The tick came before an interval of silence (a write since the last one): the next is due an interval
                // after that write, not a whole period after this tick. Only on a tick: a wake per commit stays timer-free.
                (tickAt, tickIn) = (time.GetTimestamp(), interval - quiet);
                heartbeat.Change(tickIn, interval);
            }

            await subscription.WaitAsync(token);
        }
    }

    /// <summary>
    /// Writes what <paramref name="batch"/> holds after the last seq written, flushing every <see cref="FlushBytes"/>; a
    /// stream that takes every event copies the batch's frames a segment at a time.
    /// </summary>
    private async ValueTask WriteLiveAsync(PipeWriter body, ChangeBatch batch, ChangeFilter filter, CancellationToken flushToken)
    {
        var events = batch.Events;
        var first = 0;
        while (first < events.Count && events[first].Seq <= _after)
        {
            first++;
        }

        if (first == events.Count)
        {
            return;
        }

        if (events[first].Seq > _after + 1)
        {
            FillFromJournal(body, events[first].Seq, filter);
        }

        if (filter.TakesEverything)
        {
            while (first < events.Count)
            {
                var next = batch.WritePiece(first, body, out var bytes);
                // What the pipe holds is what the client gets, even when a flush below is cancelled: the resume seq follows it.
                _written += next - first;
                _after = events[next - 1].Seq;
                first = next;
                await FlushWhenFullAsync(body, bytes, flushToken);
            }

            return;
        }

        for (var i = first; i < events.Count; i++)
        {
            _after = events[i].Seq;
            if (filter.Matches(events[i]))
            {
                var frame = batch.Frame(i).Span;
                body.Write(frame);
                _written++;
                await FlushWhenFullAsync(body, frame.Length, flushToken);
            }
        }
    }

    /// <summary>Counts <paramref name="bytes"/> just written and flushes once <see cref="FlushBytes"/> wait unflushed.</summary>
    private ValueTask FlushWhenFullAsync(PipeWriter body, int bytes, CancellationToken flushToken)
    {
        _unflushed += bytes;
        return _unflushed >= FlushBytes ? new ValueTask(FlushAsync(body, flushToken)) : ValueTask.CompletedTask;
    }

    /// <summary>Reads from the journal the events between the last one written and <paramref name="nextLiveSeq"/>.</summary>
    private void FillFromJournal(PipeWriter body, long nextLiveSeq, ChangeFilter filter)
    {
        while (_after + 1 < nextLiveSeq)
        {
            var page = journal.ReadAfter(_after, (int)Math.Min(ReplayPageSize, nextLiveSeq - _after - 1));
            if (page.Count == 0 || page[0].Seq != _after + 1)
            {
                throw new ChangeGapException($"The journal has no event {_after + 1} although event {nextLiveSeq} was committed.");
            }

            foreach (var journalEvent in page)
            {
                Write(body, journalEvent, filter);
            }
        }
    }

    private void Write(PipeWriter body, TradeEvent journalEvent, ChangeFilter filter)
    {
        _after = journalEvent.Seq;
        if (filter.Matches(journalEvent))
        {
            body.Write(ChangeEvent.Format(journalEvent));
            _written++;
        }
    }

    /// <summary>
    /// Flushes, and continues off the socket event threads: a flush that waited for a slow client completes on one,
    /// and what follows may read DuckDB (a replay page, a gap filled from the journal).
    /// </summary>
    private async Task FlushAsync(PipeWriter body, CancellationToken cancellationToken)
    {
        _unflushed = 0;
        var result = await body.FlushAsync(cancellationToken);
        await SocketEventThreads.LeaveAsync();
        if (result.IsCanceled)
        {
            throw new OperationCanceledException(cancellationToken);
        }
    }

    /// <summary>The final <c>event: error</c>: given <see cref="FinalEventGrace"/> to reach a slow client, then the connection closes.</summary>
    private async Task EndAsync(PipeWriter body, string reason, string title, string detail, CancellationToken aborted)
    {
        var end = new ChangeStreamEnd(ChangeProblems.TypePrefix + reason, title, detail, _after + 1);
        var json = JsonSerializer.Serialize(end, ChangeFeedJsonContext.Default.ChangeStreamEnd);
        body.Write(Encoding.UTF8.GetBytes($"event: error\ndata: {json}\n\n"));
        using var grace = new CancellationTokenSource(FinalEventGrace, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(aborted, grace.Token);
        try
        {
            await body.FlushAsync(linked.Token);
        }
        catch (OperationCanceledException) when (grace.IsCancellationRequested && !aborted.IsCancellationRequested)
        {
            // The client reads nothing at all: drop the connection; it resumes from its own Last-Event-ID.
        }
    }
}

/// <summary>The journal lacks an event that the live feed says was committed: the stream stops rather than skip it.</summary>
public sealed class ChangeGapException(string message) : Exception(message);
