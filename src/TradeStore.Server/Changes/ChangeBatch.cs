using System.Buffers;
using System.Text.Json;
using TradeStore.Core.Trades;

namespace TradeStore.Server.Changes;

/// <summary>
/// One commit's events on their way to every subscriber. Their Server-Sent Events frames are made once, by the first
/// subscriber that needs them (never on the writer's or the applier's thread), and shared: a stream that takes every
/// event writes the whole batch with one copy, whatever the number of subscribers.
/// </summary>
public sealed class ChangeBatch
{
    private readonly Lock _gate = new();
    private byte[]? _frames;
    private int[]? _ends;

    public ChangeBatch(IReadOnlyList<TradeEvent> events)
    {
        ArgumentOutOfRangeException.ThrowIfZero(events.Count);
        Events = events;
    }

    /// <summary>The committed events, in seq order (the list the engine handed over; not copied).</summary>
    public IReadOnlyList<TradeEvent> Events { get; }

    public long FirstSeq => Events[0].Seq;

    public long LastSeq => Events[Events.Count - 1].Seq;

    /// <summary>The frames of every event, back to back, in seq order.</summary>
    public ReadOnlyMemory<byte> Frames
    {
        get
        {
            EnsureFrames();
            return _frames;
        }
    }

    /// <summary>The frames of the events from index <paramref name="first"/> on.</summary>
    public ReadOnlyMemory<byte> FramesFrom(int first)
    {
        EnsureFrames();
        var start = first == 0 ? 0 : _ends![first - 1];
        return _frames.AsMemory(start);
    }

    /// <summary>The frame of the event at <paramref name="index"/>.</summary>
    public ReadOnlyMemory<byte> Frame(int index)
    {
        EnsureFrames();
        var start = index == 0 ? 0 : _ends![index - 1];
        return _frames.AsMemory(start, _ends![index] - start);
    }

    private void EnsureFrames()
    {
        if (Volatile.Read(ref _frames) is not null)
        {
            return;
        }

        // By design under a lock: ten subscribers reaching a new batch at once would otherwise each serialize it.
        lock (_gate)
        {
            if (_frames is not null)
            {
                return;
            }

            var buffer = new ArrayBufferWriter<byte>(Events.Count * 512);
            using var json = new Utf8JsonWriter(buffer);
            var ends = new int[Events.Count];
            for (var i = 0; i < Events.Count; i++)
            {
                ChangeEvent.Format(Events[i], buffer, json);
                ends[i] = buffer.WrittenCount;
            }

            _ends = ends;
            Volatile.Write(ref _frames, buffer.WrittenSpan.ToArray());
        }
    }
}
