using System.Buffers.Binary;

namespace TradeStore.Storage.CommitLog;

/// <summary>
/// One record of the journal log: the <c>seq</c> of the event it holds, the leadership <c>term</c> it was written in
/// (0 when standalone), the encoded event, and the CRC-32C over all three. By design the checksum travels with the
/// record: a follower appends the bytes it receives and checks them with the same function, so a copy is verified
/// exactly like the original (issue #14).
/// </summary>
/// <param name="Seq">The journal <c>seq</c>; records of a log are contiguous.</param>
/// <param name="Term">The term of the leader that wrote it; 0 on a standalone node.</param>
/// <param name="Payload">The event, encoded by <see cref="EventCodec"/>.</param>
/// <param name="Checksum">CRC-32C of the length, seq, term and payload (<see cref="LogRecordFormat.Checksum"/>).</param>
public sealed record LogRecord(long Seq, long Term, ReadOnlyMemory<byte> Payload, uint Checksum)
{
    /// <summary>A record of <paramref name="payload"/> with its checksum computed.</summary>
    public static LogRecord Create(long seq, long term, ReadOnlyMemory<byte> payload) =>
        new(seq, term, payload, LogRecordFormat.Checksum(seq, term, payload.Span));

    /// <summary>Whether <see cref="Checksum"/> matches the content (a copy received from elsewhere is checked with this).</summary>
    public bool IsIntact => LogRecordFormat.Checksum(Seq, Term, Payload.Span) == Checksum;
}

/// <summary>
/// The on-disk framing of a record (little-endian, 8-byte aligned so a scan can look for a record start cheaply):
/// <c>u32 payloadLength | u32 crc32c | i64 seq | i64 term | payload | zero padding to 8 bytes</c>. The checksum covers
/// the length, seq, term and payload.
/// </summary>
internal static class LogRecordFormat
{
    /// <summary>Bytes before the payload.</summary>
    public const int HeaderSize = 24;

    /// <summary>Largest payload accepted; anything larger in a header is damage, not a record.</summary>
    public const int MaxPayload = 1 << 20;

    /// <summary>Bytes a record of <paramref name="payloadLength"/> takes on disk, padding included.</summary>
    public static int FramedSize(int payloadLength) => (HeaderSize + payloadLength + 7) & ~7;

    /// <summary>CRC-32C over the length, seq, term and payload.</summary>
    public static uint Checksum(long seq, long term, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[20];
        BinaryPrimitives.WriteInt32LittleEndian(header, payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(header[4..], seq);
        BinaryPrimitives.WriteInt64LittleEndian(header[12..], term);
        return Crc32C.Append(Crc32C.Append(0, header), payload);
    }

    /// <summary>Writes <paramref name="record"/> framed into <paramref name="target"/>; returns the bytes written.</summary>
    public static int Write(LogRecord record, Span<byte> target)
    {
        var payload = record.Payload.Span;
        var size = FramedSize(payload.Length);
        BinaryPrimitives.WriteInt32LittleEndian(target, payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(target[4..], record.Checksum);
        BinaryPrimitives.WriteInt64LittleEndian(target[8..], record.Seq);
        BinaryPrimitives.WriteInt64LittleEndian(target[16..], record.Term);
        payload.CopyTo(target[HeaderSize..]);
        target[(HeaderSize + payload.Length)..size].Clear();
        return size;
    }

    /// <summary>
    /// Reads the record at the start of <paramref name="source"/>: <see langword="null"/> when the bytes there are not a
    /// whole, intact record (too short, an impossible length, or a checksum that does not match).
    /// </summary>
    public static LogRecord? TryRead(ReadOnlySpan<byte> source, out int size)
    {
        size = 0;
        if (source.Length < HeaderSize)
        {
            return null;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(source);
        if (length < 0 || length > MaxPayload || FramedSize(length) > source.Length)
        {
            return null;
        }

        var checksum = BinaryPrimitives.ReadUInt32LittleEndian(source[4..]);
        var seq = BinaryPrimitives.ReadInt64LittleEndian(source[8..]);
        var term = BinaryPrimitives.ReadInt64LittleEndian(source[16..]);
        var payload = source.Slice(HeaderSize, length);
        if (seq <= 0 || Checksum(seq, term, payload) != checksum)
        {
            return null;
        }

        size = FramedSize(length);
        return new LogRecord(seq, term, payload.ToArray(), checksum);
    }
}
