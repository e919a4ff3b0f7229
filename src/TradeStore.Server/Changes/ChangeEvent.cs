using System.Globalization;
using System.Text;
using System.Text.Json;
using TradeStore.Core.Trades;
using TradeStore.Server.Api;

namespace TradeStore.Server.Changes;

/// <summary>
/// One journal event on its way to subscribers, with its Server-Sent Events frame
/// (<c>id: seq</c>, <c>event: type</c>, <c>data: {seq, type, version, recordedAt, trade, …}</c>). The frame is made
/// once, by the first subscriber that writes it, and shared by all: never on the writer's thread.
/// </summary>
public sealed class ChangeEvent(TradeEvent journalEvent)
{
    private byte[]? _frame;

    public TradeEvent Event { get; } = journalEvent;

    public long Seq => Event.Seq;

    /// <summary>The UTF-8 SSE frame, ending in the blank line that dispatches it.</summary>
    public byte[] Frame => _frame ??= Format(Event);

    /// <summary>The SSE frame of <paramref name="journalEvent"/>; the data is the same JSON as an item of <c>GET /v1/trades/{id}/history</c>.</summary>
    public static byte[] Format(TradeEvent journalEvent)
    {
        var json = JsonSerializer.Serialize(TradeEventResponse.From(journalEvent), ApiJson.Context.TradeEventResponse);
        var text = string.Create(CultureInfo.InvariantCulture, $"id: {journalEvent.Seq}\nevent: {journalEvent.Type.ToCode()}\ndata: {json}\n\n");
        return Encoding.UTF8.GetBytes(text);
    }
}
