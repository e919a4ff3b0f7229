using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace TradeStore.Core.Trades;

/// <summary>
/// Idempotency keys as the writer stores them: namespaced by the caller and carrying a fingerprint of the request,
/// <c>{namespace}:{fingerprint}:{key}</c>, in the journal's <c>idempotency_key</c> column, so both survive restarts.
/// </summary>
/// <remarks>
/// <para>By design a key is the caller's own: the same key sent by two API keys names two different requests, so one
/// caller can neither read another's result through a replay nor block another's write by using its key first.</para>
/// <para>The fingerprint (SHA-256 of the command without its key) tells a retry from a reuse: a key sent again with
/// another trade, command type or body is refused with <see cref="CommandErrorKind.IdempotencyKeyReused"/>, as payment
/// APIs do, instead of answering with the first request's result.</para>
/// <para>A key stored without this form (written before namespacing, or submitted to the engine directly) carries no
/// fingerprint. It matches the same plain key, and a namespaced key with the same client key for the same trade (the
/// engine's fallback for keys written by builds before namespacing, so a retry across an upgrade replays).</para>
/// </remarks>
public static class IdempotencyKeys
{
    /// <summary>The namespace of callers without an API key (loopback callers when authentication is off).</summary>
    public const string Anonymous = "anonymous";

    /// <summary>The digits of a fingerprint (<see cref="Fingerprint(TradeCommand)"/>): 128 bits in lowercase hex.</summary>
    public const int FingerprintLength = 32;

    /// <summary>The stored form of <paramref name="command"/>'s key for a caller of <paramref name="callerNamespace"/>, or <see langword="null"/> without a key.</summary>
    /// <param name="callerNamespace">The API key's id, or <see cref="Anonymous"/>; no <c>:</c>.</param>
    public static string? Scope(string callerNamespace, TradeCommand command)
    {
        if (command.IdempotencyKey is not { } key)
        {
            return null;
        }

        if (callerNamespace.Length == 0 || callerNamespace.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException("A namespace is non-empty and holds no ':'.", nameof(callerNamespace));
        }

        return $"{callerNamespace}:{Fingerprint(command)}:{key}";
    }

    /// <summary>
    /// What the writer looks a stored key up by (namespace and key, without the fingerprint), and its fingerprint;
    /// a key not in the stored form is its own lookup, without a fingerprint.
    /// </summary>
    public static (string Lookup, string? Fingerprint) Split(string stored)
    {
        var at = FingerprintAt(stored);
        return at < 0
            ? (stored, null)
            : (string.Concat(stored.AsSpan(0, at), stored.AsSpan(at + FingerprintLength + 1)), stored.Substring(at, FingerprintLength));
    }

    /// <summary>
    /// Where the 32-digit fingerprint of a key in the stored form starts (the namespace and its <c>:</c> before it, a
    /// <c>:</c> and the client key after it), or -1 for a key not in that form: what <see cref="Split"/> cuts, for a
    /// caller that reads the parts in place.
    /// </summary>
    public static int FingerprintAt(string stored)
    {
        var first = stored.IndexOf(':', StringComparison.Ordinal);
        var second = first > 0 ? stored.IndexOf(':', first + 1) : -1;
        return second - first - 1 == FingerprintLength && IsLowerHex(stored.AsSpan(first + 1, FingerprintLength)) ? first + 1 : -1;
    }

    /// <summary>The key as its caller sent it (the stored form without namespace and fingerprint).</summary>
    public static string ClientKey(string stored)
    {
        var at = FingerprintAt(stored);
        return at < 0 ? stored : stored[(at + FingerprintLength + 1)..];
    }

    /// <summary>The refusal of a key sent again with a different request.</summary>
    public static CommandError Reused(string stored) => new(CommandErrorKind.IdempotencyKeyReused,
        $"The idempotency key '{ClientKey(stored)}' was already used for a different request (another trade, command or body); use a new key for a new request.",
        "idempotencyKey");

    /// <summary>
    /// 32 hex digits of SHA-256 over the command's type and fields, its key excluded; commands that store the same trade
    /// give equal fingerprints (amounts without their scale, times as stored: whole microseconds).
    /// </summary>
    public static string Fingerprint(TradeCommand command) => Fingerprint(command, StoredTime);

    /// <summary>
    /// Whether a key stored with the fingerprint <paramref name="stored"/> was used for the same request as
    /// <paramref name="command"/>, whose key carries <paramref name="fingerprint"/> (both <see langword="null"/> for plain keys).
    /// </summary>
    /// <remarks>
    /// Builds before 2026-12-02 hashed an executedAt's raw ticks, below the microsecond that is stored: their fingerprint
    /// differs from <see cref="Fingerprint(TradeCommand)"/> only when the request's time had sub-microsecond digits, and
    /// still matches a retry of that request, so nothing acknowledged before an upgrade is refused on retry.
    /// </remarks>
    public static bool SameRequest(string? stored, string? fingerprint, TradeCommand command) =>
        stored == fingerprint
        || (stored is not null && fingerprint is not null && HasSubMicrosecondTime(command) && stored == Fingerprint(command, RawTicks));

    private static string Fingerprint(TradeCommand command, Func<DateTimeOffset?, string?> time)
    {
        var text = new StringBuilder().Append(command.EventType.ToString()).Append('\n').Append(command.TradeId).Append('\n');
        switch (command)
        {
            case CreateTrade c:
                Append(text, c.Account, c.Symbol, c.Side.ToString(), Number(c.Quantity), Number(c.Price), c.Venue, c.Trader, time(c.ExecutedAt));
                break;
            case AmendTrade a:
                Append(text, Version(a.ExpectedVersion), Number(a.Quantity), Number(a.Price), a.Venue, a.Trader, time(a.ExecutedAt));
                break;
            case FillTrade f:
                Append(text, Number(f.Quantity), Number(f.Price), Version(f.ExpectedVersion));
                break;
            case CancelTrade c:
                Append(text, Version(c.ExpectedVersion));
                break;
            case DeleteTrade d:
                Append(text, Version(d.ExpectedVersion));
                break;
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()));
        return Convert.ToHexStringLower(hash.AsSpan(0, FingerprintLength / 2));
    }

    private static void Append(StringBuilder text, params ReadOnlySpan<string?> fields)
    {
        foreach (var field in fields)
        {
            // Length-prefixed, so no field value can imitate a separator.
            text.Append(field is null ? "-" : field.Length.ToString(CultureInfo.InvariantCulture) + ":" + field).Append('\n');
        }
    }

    /// <summary>Scale-free: 1.50 and 1.5 are the same amount.</summary>
    private static string? Number(decimal? value)
    {
        if (value is not { } d)
        {
            return null;
        }

        var text = d.ToString(CultureInfo.InvariantCulture);
        return text.Contains('.', StringComparison.Ordinal) ? text.TrimEnd('0').TrimEnd('.') : text;
    }

    private static string? Version(long? value) => value?.ToString(CultureInfo.InvariantCulture);

    /// <summary>The time as every store keeps it, so two requests that store the same trade are the same request.</summary>
    private static string? StoredTime(DateTimeOffset? value) => value is { } time ? RawTicks(Timestamps.Normalize(time)) : null;

    /// <summary>The form of builds before 2026-12-02 (see <see cref="SameRequest"/>).</summary>
    private static string? RawTicks(DateTimeOffset? value) => value?.UtcTicks.ToString(CultureInfo.InvariantCulture);

    private static bool HasSubMicrosecondTime(TradeCommand command) => command switch
    {
        CreateTrade { ExecutedAt: { } time } => time.UtcTicks % 10 != 0,
        AmendTrade { ExecutedAt: { } time } => time.UtcTicks % 10 != 0,
        _ => false,
    };

    private static bool IsLowerHex(ReadOnlySpan<char> text)
    {
        foreach (var ch in text)
        {
            if (!char.IsAsciiHexDigitLower(ch) && !char.IsAsciiDigit(ch))
            {
                return false;
            }
        }

        return true;
    }
}
