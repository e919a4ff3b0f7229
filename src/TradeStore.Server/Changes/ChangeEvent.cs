using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using TradeStore.Core.Trades;
using TradeStore.Server.Api;

namespace TradeStore.Server.Changes;

/// <summary>The Server-Sent Events frame of a journal event; a <see cref="ChangeBatch"/> makes its frames once through it.</summary>
public static class ChangeEvent
{
    /// <summary>
    /// The UTF-8 Server-Sent Events frame of <paramref name="journalEvent"/> (<c>id: seq</c>, <c>event: type</c>,
    /// <c>data: {seq, type, version, recordedAt, trade, …}</c>, then the blank line that dispatches it); the data is the
    /// same JSON as an item of <c>GET /v1/trades/{id}/history</c>.
    /// </summary>
    public static byte[] Format(TradeEvent journalEvent)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using var json = new Utf8JsonWriter(buffer, TradeJson.WriterOptions);
        Format(journalEvent, buffer, json);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Appends the frame of <paramref name="journalEvent"/> to <paramref name="output"/>, through <paramref name="json"/> (reset onto it here).</summary>
    public static void Format(TradeEvent journalEvent, IBufferWriter<byte> output, Utf8JsonWriter json)
    {
        Append(output, "id: "u8);
        var digits = output.GetSpan(20);
        Utf8Formatter.TryFormat(journalEvent.Seq, digits, out var written);
        output.Advance(written);
        Append(output, "\nevent: "u8);
        var type = journalEvent.Type.ToCode();
        var typeBytes = output.GetSpan(Encoding.UTF8.GetMaxByteCount(type.Length));
        output.Advance(Encoding.UTF8.GetBytes(type, typeBytes));
        Append(output, "\ndata: "u8);
        json.Reset(output);
        TradeJson.Write(json, journalEvent);
        json.Flush();
        Append(output, "\n\n"u8);
    }

    private static void Append(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }
}
