using System.Buffers.Binary;

namespace TradeStore.Storage.CommitLog;

/// <summary>
/// The seal a segment gets when the log rolls over to the next one (segment format 2): 24 bytes right after its last
/// record, <c>u32 0xFFFFFFFF | u32 crc32c | i64 nextSeq | i64 0</c>, the checksum over the marker, <c>nextSeq</c> and the
/// reserved word. A record's length field is never negative, so the marker cannot be read as a record.
/// </summary>
/// <remarks>
/// By design the seal is what makes the loss of the newest segments visible: nothing else records where the log ends,
/// so without it a log whose last segments were deleted reads as a shorter, intact log. A sealed segment promises a
/// successor named <c>nextSeq</c>; a sealed segment that is the last file is therefore exit 5. The successor is created
/// and synced, with its folder, before the seal is written, so no crash leaves a sealed segment without one.
/// </remarks>
public static class SegmentSeal
{
    /// <summary>Bytes of a seal, a multiple of the records' 8-byte alignment.</summary>
    public const int Size = 24;

    private const uint Marker = 0xFFFF_FFFF;

    /// <summary>The seal of a segment whose successor starts at <paramref name="nextSeq"/>.</summary>
    public static byte[] Create(long nextSeq)
    {
        var seal = new byte[Size];
        BinaryPrimitives.WriteUInt32LittleEndian(seal, Marker);
        BinaryPrimitives.WriteInt64LittleEndian(seal.AsSpan(8), nextSeq);
        BinaryPrimitives.WriteUInt32LittleEndian(seal.AsSpan(4), Checksum(seal));
        return seal;
    }

    /// <summary>Whether <paramref name="bytes"/> start with the intact seal naming <paramref name="nextSeq"/> as the successor.</summary>
    public static bool IsSealFor(ReadOnlySpan<byte> bytes, long nextSeq) =>
        bytes.Length >= Size
        && BinaryPrimitives.ReadUInt32LittleEndian(bytes) == Marker
        && BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]) == nextSeq
        && BinaryPrimitives.ReadInt64LittleEndian(bytes[16..]) == 0
        && BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]) == Checksum(bytes);

    private static uint Checksum(ReadOnlySpan<byte> seal) => Crc32C.Append(Crc32C.Append(0, seal[..4]), seal[8..Size]);
}
