using System.Buffers.Binary;
using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Text;
using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;

namespace TradeStore.Storage.Engine;

/// <summary>
/// The keyset cursor of a page of positions, opaque to clients: base64url of the last position's account (its UTF-8
/// length in one byte, then its bytes) and symbol, and a CRC-32C over both and the <c>account</c> filter. By design the
/// check, as in <see cref="ListCursor"/>: a cursor cut short, mangled in transit, or passed with another account filter
/// than the page it came from would otherwise seek to some other place and repeat or skip positions without a word.
/// </summary>
internal static class PositionCursor
{
    private const int LengthBytes = 1;
    private const int CheckBytes = sizeof(uint);

    public static string Encode(PositionKey last, string? account)
    {
        var accountBytes = Encoding.UTF8.GetBytes(last.Account);
        var symbolBytes = Encoding.UTF8.GetBytes(last.Symbol);
        var bytes = new byte[LengthBytes + accountBytes.Length + symbolBytes.Length + CheckBytes];
        bytes[0] = checked((byte)accountBytes.Length);
        accountBytes.CopyTo(bytes, LengthBytes);
        symbolBytes.CopyTo(bytes, LengthBytes + accountBytes.Length);
        var body = bytes.AsSpan(0, bytes.Length - CheckBytes);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(body.Length), Check(body, account));
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>The position the cursor's page ended at.</summary>
    /// <exception cref="FormatException">Not a cursor of a page with this account filter.</exception>
    public static PositionKey Decode(string cursor, string? account)
    {
        try
        {
            var bytes = Base64Url.DecodeFromChars(cursor);
            if (bytes.Length > LengthBytes + CheckBytes && bytes[0] is var accountLength && bytes.Length > LengthBytes + accountLength + CheckBytes)
            {
                var body = bytes.AsSpan(0, bytes.Length - CheckBytes);
                if (BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(body.Length)) == Check(body, account))
                {
                    var key = new PositionKey(
                        Encoding.UTF8.GetString(body.Slice(LengthBytes, accountLength)),
                        Encoding.UTF8.GetString(body[(LengthBytes + accountLength)..]));
                    if (TradeValidation.Account(key.Account) is null && TradeValidation.Symbol(key.Symbol) is null
                        && (account is null || string.Equals(key.Account, account, StringComparison.Ordinal)))
                    {
                        return key;
                    }
                }
            }
        }
        catch (FormatException)
        {
            // Reported below with one message for every cursor that does not check out.
        }

        throw new FormatException("The cursor is malformed, or comes from positions with another account filter; pass the nextCursor of the previous page unchanged, with the same account (or none).");
    }

    /// <summary>
    /// CRC-32C over the position and the account filter: its length (-1 when not given), then its UTF-16 code units. The
    /// length keeps no filter and an empty one apart.
    /// </summary>
    private static uint Check(ReadOnlySpan<byte> position, string? account)
    {
        Span<int> length = [account?.Length ?? -1];
        var crc = Crc32C.Append(Crc32C.Append(0, position), MemoryMarshal.AsBytes(length));
        return Crc32C.Append(crc, MemoryMarshal.AsBytes(account.AsSpan()));
    }
}
