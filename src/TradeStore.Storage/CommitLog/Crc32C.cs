using System.Buffers.Binary;
using System.Numerics;

namespace TradeStore.Storage.CommitLog;

/// <summary>
/// CRC-32C (Castagnoli) of the journal log's records and segment headers. By design the hardware instruction behind
/// <see cref="BitOperations.Crc32C(uint, ulong)"/> (SSE 4.2 / ARMv8 CRC): about 10 GB/s, so checksums cost nothing
/// next to the fsync, and a copy shipped to a follower is checked with the same function.
/// </summary>
internal static class Crc32C
{
    /// <summary>Continues <paramref name="crc"/> (start with 0) over <paramref name="data"/>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var state = ~crc;
        while (data.Length >= 8)
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            state = BitOperations.Crc32C(state, b);
        }

        return ~state;
    }
}
