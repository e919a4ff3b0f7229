using System.Buffers.Binary;
using System.Buffers.Text;
using System.Runtime.InteropServices;
using TradeStore.Storage.CommitLog;

namespace TradeStore.Storage.Engine;

/// <summary>
/// The keyset cursor of a trade's history, opaque to clients: base64url of the last event's version and a CRC-32C over
/// it and the trade id. By design the check, as in <see cref="ListCursor"/>: a cursor cut short, mangled in transit, or
/// passed for another trade's history would otherwise seek to some other version and repeat or skip events without a word.
/// </summary>
internal static class HistoryCursor
{
    private const int VersionBytes = sizeof(long);
    private const int CheckBytes = sizeof(uint);

    public static string Encode(long version, string tradeId)
    {
        Span<byte> bytes = stackalloc byte[VersionBytes + CheckBytes];
        BinaryPrimitives.WriteInt64BigEndian(bytes, version);
        BinaryPrimitives.WriteUInt32BigEndian(bytes[VersionBytes..], Check(bytes[..VersionBytes], tradeId));
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>The version the cursor's page ended at.</summary>
    /// <exception cref="FormatException">Not a cursor of this trade's history.</exception>
    public static long Decode(string cursor, string tradeId)
    {
        try
        {
            var bytes = Base64Url.DecodeFromChars(cursor);
            if (bytes.Length == VersionBytes + CheckBytes
                && BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(VersionBytes)) == Check(bytes.AsSpan(0, VersionBytes), tradeId)
                && BinaryPrimitives.ReadInt64BigEndian(bytes) is var version and >= 1)
            {
                return version;
            }
        }
        catch (FormatException)
        {
            // Reported below with one message for every cursor that does not check out.
        }

        throw new FormatException("The cursor is malformed, or comes from another trade's history; pass the nextCursor of the previous page of this trade unchanged.");
    }

    /// <summary>CRC-32C over the version's bytes and the trade id's UTF-16 code units.</summary>
    private static uint Check(ReadOnlySpan<byte> version, string tradeId) =>
        Crc32C.Append(Crc32C.Append(0, version), MemoryMarshal.AsBytes(tradeId.AsSpan()));
}
