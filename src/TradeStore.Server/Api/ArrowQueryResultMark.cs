using System.Buffers.Binary;
using System.Text;

namespace TradeStore.Server.Api;

/// <summary>
/// The mark an Arrow answer ends with when it was cut at a limit or failed after it had started: an empty record batch
/// (0 rows) whose message carries one custom metadata pair, <c>tradestore.truncated</c> = <c>rows</c>|<c>bytes</c> or
/// <c>tradestore.error</c> = the problem+json. Any Arrow reader accepts an empty batch (pyarrow shows the pair through
/// <c>read_next_batch_with_custom_metadata</c>); the package's Python reader acts on it.
/// </summary>
/// <remarks>
/// Apache.Arrow for .NET writes no metadata on a record batch message, so this one message is built here, by the
/// flatbuffer layout of Arrow's <c>Message.fbs</c>: the tables first, each after its vtable, then the vectors and strings
/// they point forward to, each aligned as flatbuffers requires (structs of two longs on 8 bytes).
/// </remarks>
internal static class ArrowQueryResultMark
{
    public const string TruncatedKey = "tradestore.truncated";
    public const string ErrorKey = "tradestore.error";

    /// <summary>A message header (continuation marker, 8 bytes of metadata) with nothing after it: the stream is cut.</summary>
    public static ReadOnlySpan<byte> Cut => [0xFF, 0xFF, 0xFF, 0xFF, 0x08, 0x00, 0x00, 0x00];

    private const short MetadataVersionV5 = 4;
    private const byte RecordBatchHeader = 3;

    /// <summary>The whole IPC message (continuation marker, length, flatbuffer; no body) for an empty batch of <paramref name="schema"/>'s flat columns.</summary>
    public static byte[] Message(Apache.Arrow.Schema? schema, string key, string value)
    {
        var fields = schema?.FieldsList ?? [];
        var nodes = fields.Count;
        var buffers = fields.Sum(f => f.DataType is Apache.Arrow.Types.StringType or Apache.Arrow.Types.BinaryType ? 3 : 2);
        var keyBytes = Encoding.UTF8.GetBytes(key);
        var valueBytes = Encoding.UTF8.GetBytes(value);

        const int messageVtable = 4, messageTable = 24, batchVtable = 40, batchTable = 56, nodesVector = 68;
        var buffersVector = nodesVector + 4 + 16 * nodes + 4;
        var metadataVector = buffersVector + 4 + 16 * buffers;
        var pairVtable = metadataVector + 8;
        var pairTable = pairVtable + 8;
        var keyString = pairTable + 12;
        var valueString = Align(keyString + 4 + keyBytes.Length + 1, 4);
        var length = Align(valueString + 4 + valueBytes.Length + 1, 8);

        var message = new byte[8 + length];
        BinaryPrimitives.WriteUInt32LittleEndian(message, 0xFFFFFFFF);
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(4), length);
        var m = message.AsSpan(8);

        U32(m, 0, messageTable); // root table

        // Message { version: 12, header_type: 14, header: 4, bodyLength: absent (0), custom_metadata: 8 }
        U16(m, messageVtable, 14, 16, 12, 14, 4, 0, 8);
        I32(m, messageTable, messageTable - messageVtable);
        Offset(m, messageTable + 4, batchTable);
        Offset(m, messageTable + 8, metadataVector);
        BinaryPrimitives.WriteInt16LittleEndian(m[(messageTable + 12)..], MetadataVersionV5);
        m[messageTable + 14] = RecordBatchHeader;

        // RecordBatch { length: absent (0), nodes: 4, buffers: 8 }; every FieldNode and Buffer all zeros.
        U16(m, batchVtable, 10, 12, 0, 4, 8);
        I32(m, batchTable, batchTable - batchVtable);
        Offset(m, batchTable + 4, nodesVector);
        Offset(m, batchTable + 8, buffersVector);
        U32(m, nodesVector, nodes);
        U32(m, buffersVector, buffers);

        // [KeyValue { key: 4, value: 8 }]
        U32(m, metadataVector, 1);
        Offset(m, metadataVector + 4, pairTable);
        U16(m, pairVtable, 8, 12, 4, 8);
        I32(m, pairTable, pairTable - pairVtable);
        Offset(m, pairTable + 4, keyString);
        Offset(m, pairTable + 8, valueString);
        U32(m, keyString, keyBytes.Length);
        keyBytes.CopyTo(m[(keyString + 4)..]);
        U32(m, valueString, valueBytes.Length);
        valueBytes.CopyTo(m[(valueString + 4)..]);
        return message;
    }

    private static int Align(int position, int alignment) => (position + alignment - 1) / alignment * alignment;

    private static void U16(Span<byte> m, int at, params ReadOnlySpan<ushort> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(m[(at + 2 * i)..], values[i]);
        }
    }

    private static void U32(Span<byte> m, int at, int value) => BinaryPrimitives.WriteUInt32LittleEndian(m[at..], checked((uint)value));

    private static void I32(Span<byte> m, int at, int value) => BinaryPrimitives.WriteInt32LittleEndian(m[at..], value);

    /// <summary>A flatbuffer uoffset: from the field's own position forward to <paramref name="target"/>.</summary>
    private static void Offset(Span<byte> m, int at, int target) => U32(m, at, target - at);
}
