using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace TradeStore.Server.Api;

/// <summary>Why <see cref="IsoTime"/> refused a client's time; <see cref="IsoTime.Reason"/> words it.</summary>
public enum IsoTimeRefusal
{
    /// <summary>Not in the ISO 8601 profile <see cref="IsoTime"/> reads (<c>yesterday</c>, <c>2026-12-04t00:00:00z</c>, <c>…+0100</c>).</summary>
    NotIso8601,

    /// <summary>A well-formed date or time without a zone (<c>2026-12-04T00:00:00</c>, <c>2026-12-04</c>): ambiguous, never guessed.</summary>
    NoZone,

    /// <summary>A well-formed time whose offset no zone has: beyond ±14:00, or 60 minutes or more (<c>+15:00</c>, <c>+01:60</c>).</summary>
    NoSuchOffset,

    /// <summary>A well-formed time that only its offset takes past the year 9999 or before the year 1 (<c>9999-12-31T23:59:59-14:00</c>).</summary>
    BeyondRangeByItsOffset,
}

/// <summary>
/// What a time from a client is, wherever it comes: a body's time (<c>executedAt</c>, through
/// <see cref="UtcTimestampConverter"/>) and a list's <c>from</c>/<c>to</c> accept the same forms and are refused for the same
/// <see cref="IsoTimeRefusal"/>, each caller wrapping <see cref="Reason"/> into its own message.
/// <para>
/// The forms are the ISO 8601 profile of the JSON reader (<see cref="Utf8JsonReader.TryGetDateTimeOffset"/>):
/// <c>yyyy-MM-ddTHH:mm</c>, optionally <c>:ss</c> and a fraction of 1 to 16 digits (digits past the 7th, 100 ns, are
/// cut), then an explicit zone: <c>Z</c>, <c>±hh:mm</c> or <c>±hh</c>. Every other shape is refused, among them those
/// <see cref="DateTimeOffset.TryParse(string, IFormatProvider, DateTimeStyles, out DateTimeOffset)"/> reads
/// (<c>2026-12-4T0:0:0Z</c>, <c>…+1</c>, <c>…+0100</c>, <c>…,5Z</c>, a space before the zone), and a fraction point
/// without a digit after it (<c>…00.Z</c>), which the JSON reader lets through but ISO 8601 has not.
/// </para>
/// <para>
/// By design <c>T</c> and <c>Z</c> are upper case only. RFC 3339 (section 5.6, NOTE) lets them be lower case, but the
/// JSON reader, which reads every time in a body, refuses <c>t</c> and <c>z</c>: accepting them in a query only would make
/// a time the list takes one a create refuses. One rule for both is the body's, which no client of the body relies on
/// being looser.
/// </para>
/// The microseconds a store keeps are not this type's concern: it returns the time as written, to 100 ns;
/// <see cref="TradeStore.Core.Trades.Timestamps"/> cuts a stored time and rounds a bound up.
/// </summary>
public static class IsoTime
{
    /// <summary>Longer than any form the JSON reader reads (its longest is 42 characters): refused without a look.</summary>
    private const int MaxLength = 64;

    /// <summary>Every character a form can hold; any other makes the text not a time (and keeps the copy to UTF-8 one byte a character).</summary>
    private static readonly SearchValues<char> TimeCharacters = SearchValues.Create("0123456789-+:.TZ");

    /// <summary>
    /// Reads <paramref name="text"/> as a time with a zone: <see langword="true"/> with the time as written (its offset kept),
    /// else <see langword="false"/> and why.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out DateTimeOffset value, out IsoTimeRefusal refusal)
    {
        if (!TryParseForm(text, out value))
        {
            refusal = NoSuchOffset(text) is not null ? IsoTimeRefusal.NoSuchOffset
                : BeyondRangeByItsOffset(text) ? IsoTimeRefusal.BeyondRangeByItsOffset
                : IsoTimeRefusal.NotIso8601;
            return false;
        }

        // The reader reads a time without a zone (and a date alone) as UTC; only the text tells that none was named.
        var time = text.IndexOf('T');
        if (time < 0 || text[time..].IndexOfAny('Z', '+', '-') < 0)
        {
            value = default;
            refusal = IsoTimeRefusal.NoZone;
            return false;
        }

        refusal = default;
        return true;
    }

    /// <summary>
    /// Why <paramref name="text"/> was refused, in the words that follow the name of the field or parameter (no final stop):
    /// <c>must name its zone (…)</c>, <c>has the offset +15:00, which no zone has: …</c>.
    /// </summary>
    public static string Reason(IsoTimeRefusal refusal, ReadOnlySpan<char> text) => refusal switch
    {
        IsoTimeRefusal.NoZone => "must name its zone (Z or an offset such as +01:00); a time without one is ambiguous",
        IsoTimeRefusal.NoSuchOffset => $"has the offset {NoSuchOffset(text)}, which no zone has: offsets run from -14:00 to +14:00",
        IsoTimeRefusal.BeyondRangeByItsOffset => "must be a time between the years 1 and 9999 once its offset is applied",
        _ => "must be an ISO 8601 time with a zone, for example 2026-01-02T03:04:05.123456Z (upper-case T and Z)",
    };

    /// <summary>The JSON reader's own parser, run on text that need not have come from JSON; a fraction point needs a digit.</summary>
    private static bool TryParseForm(ReadOnlySpan<char> text, out DateTimeOffset value)
    {
        value = default;
        if (text.Length > MaxLength || text.ContainsAnyExcept(TimeCharacters))
        {
            return false;
        }

        var point = text.IndexOf('.');
        if (point >= 0 && (point == text.Length - 1 || !char.IsAsciiDigit(text[point + 1])))
        {
            return false;
        }

        Span<byte> json = stackalloc byte[MaxLength + 2];
        json[0] = (byte)'"';
        for (var i = 0; i < text.Length; i++)
        {
            json[i + 1] = (byte)text[i];
        }

        json[text.Length + 1] = (byte)'"';
        var reader = new Utf8JsonReader(json[..(text.Length + 2)]);
        return reader.Read() && reader.TryGetDateTimeOffset(out value);
    }

    /// <summary>
    /// Whether <paramref name="text"/> is a well-formed time whose offset alone takes it out of what a
    /// <see cref="DateTimeOffset"/> can hold, such as <c>9999-12-31T23:59:59-14:00</c>: the same time read as UTC parses.
    /// </summary>
    private static bool BeyondRangeByItsOffset(ReadOnlySpan<char> text) =>
        NoSuchOffset(text) is null && ParsesAsUtc(text, out _);

    /// <summary>
    /// The offset of <paramref name="text"/> when it is a well-formed time whose <c>±hh:mm</c> or <c>±hh</c> offset no zone
    /// has (beyond ±14:00, or 60 minutes or more, such as <c>+15:00</c>): <see langword="null"/> otherwise. The parser
    /// refuses such a time like any malformed one; naming the offset tells the client which part to fix.
    /// </summary>
    private static string? NoSuchOffset(ReadOnlySpan<char> text)
    {
        if (!ParsesAsUtc(text, out var offset)
            || !int.TryParse(offset[1..3], NumberStyles.None, CultureInfo.InvariantCulture, out var hours)
            || !int.TryParse(offset.Length == 3 ? "0".AsSpan() : offset[4..], NumberStyles.None, CultureInfo.InvariantCulture, out var minutes))
        {
            return null;
        }

        return minutes > 59 || (hours * 60) + minutes > 14 * 60 ? offset.ToString() : null;
    }

    /// <summary>Whether <paramref name="text"/> ends in a <c>±hh:mm</c> or <c>±hh</c> offset and parses with <c>Z</c> in its place.</summary>
    private static bool ParsesAsUtc(ReadOnlySpan<char> text, out ReadOnlySpan<char> offset)
    {
        var length = text.Length > 6 && text[^6] is '+' or '-' && text[^3] == ':' ? 6
            : text.Length > 3 && text[^3] is '+' or '-' && text.LastIndexOf('T') is var t && t >= 0 && t < text.Length - 3 ? 3
            : 0;
        offset = text[^length..];
        if (length == 0 || text.Length > MaxLength)
        {
            return false;
        }

        Span<char> utc = stackalloc char[MaxLength];
        text[..^length].CopyTo(utc);
        utc[text.Length - length] = 'Z';
        return TryParseForm(utc[..(text.Length - length + 1)], out _);
    }
}
