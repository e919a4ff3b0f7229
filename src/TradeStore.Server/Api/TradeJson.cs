using System.Text.Json;
using TradeStore.Core.Trades;

namespace TradeStore.Server.Api;

/// <summary>
/// Writes a trade, and a journal event with its trade, straight from the domain records in the JSON of
/// <see cref="TradeResponse"/> and <see cref="TradeEventResponse"/>: the same names, order, number and time formats,
/// byte for byte (a test compares them with the serializer's output for random trades).
/// </summary>
/// <remarks>
/// By design no response object per trade: a list of 100 built 100 <see cref="TradeResponse"/> records on the way to
/// the serializer, and with 1,000,000 trades held in memory every young GC the reads cause pauses the server for the
/// time it takes to scan the old generation, so the allocation rate of reads sets how often they stall.
/// The records stay the API's schema (OpenAPI, clients, the serializer for every other answer).
/// </remarks>
public static class TradeJson
{
    private static readonly JsonEncodedText TradeIdName = Name("tradeId");
    private static readonly JsonEncodedText AccountName = Name("account");
    private static readonly JsonEncodedText SymbolName = Name("symbol");
    private static readonly JsonEncodedText SideName = Name("side");
    private static readonly JsonEncodedText QuantityName = Name("quantity");
    private static readonly JsonEncodedText PriceName = Name("price");
    private static readonly JsonEncodedText FilledQuantityName = Name("filledQuantity");
    private static readonly JsonEncodedText AverageFillPriceName = Name("averageFillPrice");
    private static readonly JsonEncodedText StatusName = Name("status");
    private static readonly JsonEncodedText VenueName = Name("venue");
    private static readonly JsonEncodedText TraderName = Name("trader");
    private static readonly JsonEncodedText ExecutedAtName = Name("executedAt");
    private static readonly JsonEncodedText VersionName = Name("version");
    private static readonly JsonEncodedText LastSeqName = Name("lastSeq");
    private static readonly JsonEncodedText CreatedAtName = Name("createdAt");
    private static readonly JsonEncodedText UpdatedAtName = Name("updatedAt");
    private static readonly JsonEncodedText SeqName = Name("seq");
    private static readonly JsonEncodedText TypeName = Name("type");
    private static readonly JsonEncodedText RecordedAtName = Name("recordedAt");
    private static readonly JsonEncodedText LastQuantityName = Name("lastQuantity");
    private static readonly JsonEncodedText LastPriceName = Name("lastPrice");
    private static readonly JsonEncodedText IdempotencyKeyName = Name("idempotencyKey");
    private static readonly JsonEncodedText TradeName = Name("trade");
    private static readonly JsonEncodedText ItemsName = Name("items");
    private static readonly JsonEncodedText NextCursorName = Name("nextCursor");

    /// <summary>The options every writer here is made with: the API's encoder, no indentation.</summary>
    public static JsonWriterOptions WriterOptions { get; } = new()
    {
        Encoder = ApiJson.Context.Options.Encoder,
        SkipValidation = true,
    };

    /// <summary>Writes <paramref name="trade"/> as a <see cref="TradeResponse"/> object.</summary>
    public static void Write(Utf8JsonWriter json, Trade trade)
    {
        json.WriteStartObject();
        json.WriteString(TradeIdName, trade.TradeId);
        json.WriteString(AccountName, trade.Account);
        json.WriteString(SymbolName, trade.Symbol);
        json.WriteString(SideName, trade.Side.ToCode());
        Decimal(json, QuantityName, trade.Quantity);
        Decimal(json, PriceName, trade.Price);
        Decimal(json, FilledQuantityName, trade.FilledQuantity);
        Decimal(json, AverageFillPriceName, trade.AverageFillPrice);
        json.WriteString(StatusName, trade.Status.ToCode());
        String(json, VenueName, trade.Venue);
        String(json, TraderName, trade.Trader);
        Time(json, ExecutedAtName, trade.ExecutedAt);
        json.WriteNumber(VersionName, trade.Version);
        json.WriteNumber(LastSeqName, trade.LastSeq);
        Time(json, CreatedAtName, trade.CreatedAt);
        Time(json, UpdatedAtName, trade.UpdatedAt);
        json.WriteEndObject();
    }

    /// <summary>Writes <paramref name="journalEvent"/> as a <see cref="TradeEventResponse"/> object.</summary>
    public static void Write(Utf8JsonWriter json, TradeEvent journalEvent)
    {
        json.WriteStartObject();
        json.WriteNumber(SeqName, journalEvent.Seq);
        json.WriteString(TypeName, journalEvent.Type.ToCode());
        json.WriteNumber(VersionName, journalEvent.Version);
        Time(json, RecordedAtName, journalEvent.RecordedAt);
        Decimal(json, LastQuantityName, journalEvent.LastQuantity);
        Decimal(json, LastPriceName, journalEvent.LastPrice);
        String(json, IdempotencyKeyName, journalEvent.IdempotencyKey is { } key ? IdempotencyKeys.ClientKey(key) : null);
        json.WritePropertyName(TradeName);
        Write(json, journalEvent.State);
        json.WriteEndObject();
    }

    /// <summary>Writes a page of a list as a <see cref="TradePageResponse"/> object.</summary>
    public static void Write(Utf8JsonWriter json, TradePage page)
    {
        json.WriteStartObject();
        json.WriteStartArray(ItemsName);
        foreach (var trade in page.Trades)
        {
            Write(json, trade);
        }

        json.WriteEndArray();
        String(json, NextCursorName, page.NextCursor);
        json.WriteEndObject();
    }

    private static JsonEncodedText Name(string camelCase) => JsonEncodedText.Encode(camelCase, ApiJson.Context.Options.Encoder);

    private static void Decimal(Utf8JsonWriter json, JsonEncodedText name, decimal value)
    {
        json.WritePropertyName(name);
        ExactDecimalConverter.WriteValue(json, value);
    }

    private static void Decimal(Utf8JsonWriter json, JsonEncodedText name, decimal? value)
    {
        if (value is { } number)
        {
            Decimal(json, name, number);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void String(Utf8JsonWriter json, JsonEncodedText name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    private static void Time(Utf8JsonWriter json, JsonEncodedText name, DateTimeOffset value)
    {
        json.WritePropertyName(name);
        UtcTimestampConverter.WriteValue(json, value);
    }
}
