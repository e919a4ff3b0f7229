using System.Buffers.Binary;
using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Text;
using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;

namespace TradeStore.Storage.Engine;

/// <summary>
/// The keyset cursor of a trade list, opaque to clients: base64url of the last row's executed_at (microseconds), its
/// trade id, and a CRC-32C over both and the list's filters. By design the check: a cursor cut short, mangled in
/// transit, or passed with other filters than the page it came from would otherwise seek to some other place and
/// repeat or skip trades without a word.
/// </summary>
internal static class ListCursor
{
    private const int TimeBytes = sizeof(long);
    private const int CheckBytes = sizeof(uint);

    public static string Encode(DateTimeOffset executedAt, string tradeId, TradeFilter filter)
    {
        var id = Encoding.UTF8.GetBytes(tradeId);
        var bytes = new byte[TimeBytes + id.Length + CheckBytes];
        BinaryPrimitives.WriteInt64BigEndian(bytes, Timestamps.ToUnixMicroseconds(executedAt));
        id.CopyTo(bytes, TimeBytes);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(bytes.Length - CheckBytes), Check(bytes.AsSpan(0, bytes.Length - CheckBytes), filter));
        return Base64Url.EncodeToString(bytes);
    }

    /// <exception cref="FormatException">Not a cursor of a page with these filters.</exception>
    public static (DateTimeOffset ExecutedAt, string TradeId) Decode(string cursor, TradeFilter filter)
    {
        try
        {
            var bytes = Base64Url.DecodeFromChars(cursor);
            if (bytes.Length is > TimeBytes + CheckBytes and <= TimeBytes + TradeValidation.MaxIdLength + CheckBytes)
            {
                var body = bytes.AsSpan(0, bytes.Length - CheckBytes);
                var tradeId = Encoding.UTF8.GetString(body[TimeBytes..]);
                if (BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(body.Length)) == Check(body, filter) && TradeValidation.TradeId(tradeId) is null)
                {
                    return (Timestamps.FromUnixMicroseconds(BinaryPrimitives.ReadInt64BigEndian(body)), tradeId);
                }
            }
        }
        catch (FormatException)
        {
            // Reported below with one message for every cursor that does not check out.
        }
        catch (ArgumentOutOfRangeException)
        {
            // A time outside DateTimeOffset's range.
        }

        throw new FormatException("The cursor is malformed, or comes from a list with other filters; pass the nextCursor of the previous page unchanged, with the same filters.");
    }

    /// <summary>
    /// CRC-32C over the position and the filters, without allocating (a list is a hot read): the filters' lengths and
    /// values as numbers, then the account's and symbol's UTF-16 code units. The lengths keep ("AB", "C") and ("A", "BC")
    /// apart; -1 and <see cref="long.MinValue"/> stand for a filter not given.
    /// </summary>
    private static uint Check(ReadOnlySpan<byte> position, TradeFilter filter)
    {
        Span<long> numbers =
        [
            filter.Account?.Length ?? -1,
            filter.Symbol?.Length ?? -1,
            filter.Status is { } status ? (long)status : -1,
            filter.From is { } from ? Timestamps.ToUnixMicroseconds(from) : long.MinValue,
            filter.To is { } to ? Timestamps.ToUnixMicroseconds(to) : long.MinValue,
        ];
        var crc = Crc32C.Append(Crc32C.Append(0, position), MemoryMarshal.AsBytes(numbers));
        crc = Crc32C.Append(crc, MemoryMarshal.AsBytes(filter.Account.AsSpan()));
        return Crc32C.Append(crc, MemoryMarshal.AsBytes(filter.Symbol.AsSpan()));
    }
}
