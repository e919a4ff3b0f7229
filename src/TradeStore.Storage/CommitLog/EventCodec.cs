using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using TradeStore.Core.Trades;

namespace TradeStore.Storage.CommitLog;

/// <summary>
/// Encodes a <see cref="TradeEvent"/> as the payload of a <see cref="LogRecord"/> and back. Binary, versioned by its
/// first byte; codes (<c>create</c>, <c>buy</c>, <c>open</c>…) rather than enum numbers, so reordering an enum can never
/// change what an old record means. Decimals keep their exact scale (<see cref="decimal.GetBits(decimal)"/>), times
/// are UTC ticks. The <c>seq</c> is the record's, not repeated here.
/// </summary>
public static class EventCodec
{
    private const byte Version1 = 1;

    private const byte HasLastQuantity = 1;
    private const byte HasLastPrice = 2;
    private const byte HasVenue = 4;
    private const byte HasTrader = 8;
    private const byte HasIdempotencyKey = 16;

    /// <summary>The payload of <paramref name="e"/>.</summary>
    public static byte[] Encode(TradeEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>(160);
        Encode(e, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes the payload of <paramref name="e"/> into <paramref name="output"/>.</summary>
    public static void Encode(TradeEvent e, IBufferWriter<byte> output)
    {
        var s = e.State;
        var flags = (byte)((e.LastQuantity is null ? 0 : HasLastQuantity) | (e.LastPrice is null ? 0 : HasLastPrice) |
            (s.Venue is null ? 0 : HasVenue) | (s.Trader is null ? 0 : HasTrader) | (e.IdempotencyKey is null ? 0 : HasIdempotencyKey));
        WriteByte(output, Version1);
        WriteByte(output, flags);
        WriteString(output, e.Type.ToCode());
        WriteString(output, s.TradeId);
        WriteInt64(output, s.Version);
        WriteString(output, s.Account);
        WriteString(output, s.Symbol);
        WriteString(output, s.Side.ToCode());
        WriteDecimal(output, s.Quantity);
        WriteDecimal(output, s.Price);
        WriteDecimal(output, s.FilledQuantity);
        WriteDecimal(output, s.FilledNotional);
        WriteString(output, s.Status.ToCode());
        WriteInt64(output, s.ExecutedAt.UtcTicks);
        WriteInt64(output, s.CreatedAt.UtcTicks);
        WriteInt64(output, e.RecordedAt.UtcTicks);
        if (e.LastQuantity is { } lastQuantity)
        {
            WriteDecimal(output, lastQuantity);
        }

        if (e.LastPrice is { } lastPrice)
        {
            WriteDecimal(output, lastPrice);
        }

        if (s.Venue is { } venue)
        {
            WriteString(output, venue);
        }

        if (s.Trader is { } trader)
        {
            WriteString(output, trader);
        }

        if (e.IdempotencyKey is { } key)
        {
            WriteString(output, key);
        }
    }

    /// <summary>The event an intact journal log record holds, read by the start-up replay, <c>verify</c> and <c>recover</c>.</summary>
    /// <param name="logDirectory">The log's folder, named when the record cannot be read.</param>
    /// <param name="record">A record whose checksum held.</param>
    /// <exception cref="JournalLogCorruptException">The record is intact but not an event this binary can read.</exception>
    public static TradeEvent Decode(string logDirectory, LogRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        try
        {
            return Decode(record.Seq, record.Payload.Span);
        }
        catch (InvalidDataException ex)
        {
            throw new JournalLogCorruptException(logDirectory, 0, $"record seq {record.Seq} is intact but unreadable: {ex.Message}");
        }
    }

    /// <summary>The event a record holds.</summary>
    /// <exception cref="InvalidDataException">The payload is not an event this version understands.</exception>
    public static TradeEvent Decode(long seq, ReadOnlySpan<byte> payload)
    {
        var reader = new Reader(payload);
        try
        {
            var version = reader.Byte();
            if (version != Version1)
            {
                throw new InvalidDataException($"event payload format {version} is unknown to this version (it reads {Version1})");
            }

            var flags = reader.Byte();
            var type = TradeCodes.ParseEventType(reader.String());
            var tradeId = reader.String();
            var tradeVersion = reader.Int64();
            var account = TradeNames.Share(reader.String());
            var symbol = TradeNames.Share(reader.String());
            var side = TradeCodes.ParseSide(reader.String());
            var quantity = reader.Decimal();
            var price = reader.Decimal();
            var filledQuantity = reader.Decimal();
            var filledNotional = reader.Decimal();
            var status = TradeCodes.ParseStatus(reader.String());
            var executedAt = new DateTimeOffset(reader.Int64(), TimeSpan.Zero);
            var createdAt = new DateTimeOffset(reader.Int64(), TimeSpan.Zero);
            var recordedAt = new DateTimeOffset(reader.Int64(), TimeSpan.Zero);
            decimal? lastQuantity = (flags & HasLastQuantity) != 0 ? reader.Decimal() : null;
            decimal? lastPrice = (flags & HasLastPrice) != 0 ? reader.Decimal() : null;
            var venue = (flags & HasVenue) != 0 ? TradeNames.Share(reader.String()) : null;
            var trader = (flags & HasTrader) != 0 ? TradeNames.Share(reader.String()) : null;
            var key = (flags & HasIdempotencyKey) != 0 ? reader.String() : null;
            var state = new Trade(tradeId, account, symbol, side, quantity, price, filledQuantity, filledNotional, status, venue, trader,
                executedAt, tradeVersion, seq, createdAt, recordedAt);
            return new TradeEvent(seq, type, state, lastQuantity, lastPrice, recordedAt, key);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException or OverflowException)
        {
            throw new InvalidDataException($"the payload of seq {seq} is not a valid event: {ex.Message}", ex);
        }
    }

    private static void WriteByte(IBufferWriter<byte> output, byte value)
    {
        output.GetSpan(1)[0] = value;
        output.Advance(1);
    }

    private static void WriteInt64(IBufferWriter<byte> output, long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(output.GetSpan(8), value);
        output.Advance(8);
    }

    private static void WriteDecimal(IBufferWriter<byte> output, decimal value)
    {
        var span = output.GetSpan(16);
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        for (var i = 0; i < 4; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[(i * 4)..], bits[i]);
        }

        output.Advance(16);
    }

    private static void WriteString(IBufferWriter<byte> output, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        if (length > ushort.MaxValue)
        {
            throw new ArgumentException($"a text field of {length} bytes does not fit an event record", nameof(value));
        }

        var span = output.GetSpan(2 + length);
        BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)length);
        Encoding.UTF8.GetBytes(value, span[2..]);
        output.Advance(2 + length);
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _data = data;

        public byte Byte()
        {
            var value = _data[0];
            _data = _data[1..];
            return value;
        }

        public long Int64()
        {
            var value = BinaryPrimitives.ReadInt64LittleEndian(_data);
            _data = _data[8..];
            return value;
        }

        public decimal Decimal()
        {
            Span<int> bits = stackalloc int[4];
            for (var i = 0; i < 4; i++)
            {
                bits[i] = BinaryPrimitives.ReadInt32LittleEndian(_data[(i * 4)..]);
            }

            _data = _data[16..];
            return new decimal(bits);
        }

        public string String()
        {
            var length = BinaryPrimitives.ReadUInt16LittleEndian(_data);
            var value = Encoding.UTF8.GetString(_data.Slice(2, length));
            _data = _data[(2 + length)..];
            return value;
        }
    }
}
