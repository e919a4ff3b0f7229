using System.Buffers;
using System.Text.Json;
using TradeStore.Core.Trades;
using TradeStore.Server.Api;

namespace TradeStore.Server.Changes;

/// <summary>
/// One commit's events on their way to every subscriber. Their Server-Sent Events frames are made once, by the first
/// subscriber that needs them (never on the writer's or the publisher's thread), and shared: a stream that takes every
/// event writes the whole batch with one copy, whatever the number of subscribers.
/// </summary>
/// <remarks>
/// By design the frames are kept in segments of about <see cref="SegmentBytes"/>, never split inside a frame: one array
/// for a whole batch (thousands of events, megabytes) would go to the large-object heap, whose allocations start
/// background collections of the whole heap (measured: 37 of them in a 14 s run with 10 subscribers, against 3 without
/// subscribers).
/// </remarks>
public sealed class ChangeBatch
{
    /// <summary>Bytes per segment of frames, at least (a segment ends after the frame that reaches it); well below the 85,000-byte large-object threshold.</summary>
    public const int SegmentBytes = 32 * 1024;

    private readonly Lock _gate = new();
    private byte[][]? _segments;
    private int[]? _segmentOf;
    private int[]? _startOf;
    private int[]? _firstOf;

    public ChangeBatch(IReadOnlyList<TradeEvent> events)
    {
        ArgumentOutOfRangeException.ThrowIfZero(events.Count);
        Events = events;
    }

    /// <summary>The committed events, in seq order (the list the engine handed over; not copied).</summary>
    public IReadOnlyList<TradeEvent> Events { get; }

    public long FirstSeq => Events[0].Seq;

    public long LastSeq => Events[Events.Count - 1].Seq;

    /// <summary>
    /// Writes the frames from the event at <paramref name="first"/> to the end of its segment (at most about
    /// <see cref="SegmentBytes"/>, whole frames only) to <paramref name="output"/>.
    /// </summary>
    /// <returns>The index of the first event not written: <see cref="Events"/>' count once the batch is written.</returns>
    public int WritePiece(int first, IBufferWriter<byte> output, out int bytes)
    {
        var segments = EnsureFrames();
        var segment = _segmentOf![first];
        var piece = segments[segment].AsSpan(_startOf![first]);
        output.Write(piece);
        bytes = piece.Length;
        return segment + 1 < segments.Length ? _firstOf![segment + 1] : Events.Count;
    }

    /// <summary>The frame of the event at <paramref name="index"/>.</summary>
    public ReadOnlyMemory<byte> Frame(int index)
    {
        var segments = EnsureFrames();
        var segment = _segmentOf![index];
        var start = _startOf![index];
        var end = index + 1 < Events.Count && _segmentOf[index + 1] == segment ? _startOf[index + 1] : segments[segment].Length;
        return segments[segment].AsMemory(start, end - start);
    }

    private byte[][] EnsureFrames()
    {
        if (Volatile.Read(ref _segments) is { } made)
        {
            return made;
        }

        // By design under a lock: ten subscribers reaching a new batch at once would otherwise each serialize it.
        lock (_gate)
        {
            if (_segments is not null)
            {
                return _segments;
            }

            var segments = new List<byte[]>();
            var segmentOf = new int[Events.Count];
            var startOf = new int[Events.Count];
            var firstOf = new List<int>();
            var buffer = new ArrayBufferWriter<byte>(SegmentBytes + 2048);
            using var json = new Utf8JsonWriter(buffer, TradeJson.WriterOptions);
            for (var i = 0; i < Events.Count; i++)
            {
                segmentOf[i] = segments.Count;
                startOf[i] = buffer.WrittenCount;
                if (startOf[i] == 0)
                {
                    firstOf.Add(i);
                }

                ChangeEvent.Format(Events[i], buffer, json);
                if (buffer.WrittenCount >= SegmentBytes || i == Events.Count - 1)
                {
                    segments.Add(buffer.WrittenSpan.ToArray());
                    buffer.ResetWrittenCount();
                }
            }

            _segmentOf = segmentOf;
            _startOf = startOf;
            _firstOf = firstOf.ToArray();
            var sealedSegments = segments.ToArray();
            Volatile.Write(ref _segments, sealedSegments);
            return sealedSegments;
        }
    }
}
