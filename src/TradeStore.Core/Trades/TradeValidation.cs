using System.Globalization;

namespace TradeStore.Core.Trades;

/// <summary>Field rules for commands. Each failure names the field, in the JSON spelling clients send.</summary>
public static class TradeValidation
{
    public const int MaxIdLength = 64;
    public const int MaxSymbolLength = 32;
    public const int MaxTextLength = 64;
    public const int MaxIdempotencyKeyLength = 128;

    /// <summary>Checks the fields of <paramref name="command"/> alone (no state); <see langword="null"/> when valid.</summary>
    public static CommandError? Validate(TradeCommand command)
    {
        var error = TradeId(command.TradeId) ?? IdempotencyKey(command.IdempotencyKey);
        if (error is not null)
        {
            return error;
        }

        return command switch
        {
            CreateTrade c => Account(c.Account)
                ?? Symbol(c.Symbol)
                ?? EnumValue("side", c.Side)
                ?? Quantity("quantity", c.Quantity)
                ?? Price("price", c.Price)
                ?? Text("venue", c.Venue)
                ?? Text("trader", c.Trader)
                ?? Time("executedAt", c.ExecutedAt),
            AmendTrade a => ExpectedVersion(a.ExpectedVersion)
                ?? (a.Quantity is { } q ? Quantity("quantity", q) : null)
                ?? (a.Price is { } p ? Price("price", p) : null)
                ?? Text("venue", a.Venue)
                ?? Text("trader", a.Trader)
                ?? Time("executedAt", a.ExecutedAt)
                ?? (a is { Quantity: null, Price: null, Venue: null, Trader: null, ExecutedAt: null }
                    ? CommandError.Invalid("body", "An amend must set at least one of quantity, price, venue, trader, executedAt; "
                        + "null keeps a field's value (a venue or trader cannot be cleared), so a body of nulls sets nothing.")
                    : null),
            FillTrade f => ExpectedVersion(f.ExpectedVersion) ?? Quantity("quantity", f.Quantity) ?? Price("price", f.Price),
            CancelTrade c => ExpectedVersion(c.ExpectedVersion),
            DeleteTrade d => ExpectedVersion(d.ExpectedVersion),
            _ => CommandError.Invalid("type", $"Unknown command {command.GetType().Name}."),
        };
    }

    public static CommandError? TradeId(string? tradeId)
    {
        if (string.IsNullOrEmpty(tradeId))
        {
            return CommandError.Invalid("tradeId", "tradeId is required.");
        }

        if (!NameCharacters.TradeId.IsSpelledWith(tradeId, MaxIdLength))
        {
            return CommandError.Invalid("tradeId", $"tradeId must be 1 to {MaxIdLength} characters of {NameCharacters.TradeId.Described}.");
        }

        if (tradeId is "." or "..")
        {
            // A URL path cannot address them: /v1/trades/.. is normalised away before it reaches the API.
            return CommandError.Invalid("tradeId", "tradeId may not be '.' or '..': no URL could address the trade.");
        }

        return null;
    }

    /// <summary>Checks an account name as a trade's <c>account</c> must be spelled; <see langword="null"/> when it could be one.</summary>
    public static CommandError? Account(string? account) => Code("account", account, MaxIdLength);

    /// <summary>Checks a symbol as a trade's <c>symbol</c> must be spelled; <see langword="null"/> when it could be one.</summary>
    public static CommandError? Symbol(string? symbol) => Code("symbol", symbol, MaxSymbolLength);

    /// <summary>
    /// Checks the key as its caller sent it: the engine sees the stored form <c>{namespace}:{fingerprint}:{key}</c>
    /// (<see cref="IdempotencyKeys.Scope"/>), whose prefix must not count against the caller's 128 characters.
    /// </summary>
    private static CommandError? IdempotencyKey(string? key) =>
        key is not null && IdempotencyKeys.ClientKey(key) is var sent && (sent.Length is 0 or > MaxIdempotencyKeyLength || !IsPrintable(sent))
            ? CommandError.Invalid("idempotencyKey", $"The idempotency key must be 1 to {MaxIdempotencyKeyLength} printable characters.")
            : null;

    private static CommandError? Code(string field, string? value, int maxLength)
    {
        if (string.IsNullOrEmpty(value))
        {
            return CommandError.Invalid(field, $"{field} is required.");
        }

        return !NameCharacters.Code.IsSpelledWith(value, maxLength)
            ? CommandError.Invalid(field, $"{field} must be 1 to {maxLength} characters of {NameCharacters.Code.Described}.")
            : null;
    }

    /// <remarks>
    /// The length is counted in UTF-16 code units, as every store's check does; the refusal says so, since a text of 33
    /// emoji (66 units) is too long although it shows 33 characters.
    /// </remarks>
    private static CommandError? Text(string field, string? value)
    {
        if (value is null)
        {
            return null;
        }

        if (value.Length > MaxTextLength)
        {
            return CommandError.Invalid(field, $"{field} is {value.Length} UTF-16 code units long; the most is {MaxTextLength} (a character beyond U+FFFF, such as an emoji, counts as 2).");
        }

        return value.Length == 0 || !IsPrintable(value)
            ? CommandError.Invalid(field, $"{field}, when given, must be 1 to {MaxTextLength} printable characters.")
            : null;
    }

    /// <summary>
    /// No control characters and none that print as nothing or move text around: format characters (zero-width
    /// space U+200B, right-to-left override U+202E, byte order mark), line and paragraph separators (U+2028, U+2029).
    /// By design refused: a venue or trader that looks like another on screen, or reorders a report line, is a spoof.
    /// </summary>
    private static bool IsPrintable(string value)
    {
        foreach (var ch in value)
        {
            if (char.IsControl(ch) || CharUnicodeInfo.GetUnicodeCategory(ch) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                return false;
            }
        }

        return true;
    }

    private static CommandError? EnumValue(string field, Side side) =>
        Enum.IsDefined(side) ? null : CommandError.Invalid(field, $"{field} must be \"buy\" or \"sell\".");

    private static CommandError? Quantity(string field, decimal value)
    {
        if (value <= 0)
        {
            return CommandError.Invalid(field, $"{field} must be greater than 0.");
        }

        return Money.FitsStorage(value) ? null : CommandError.Invalid(field, $"{field} must be at most {Money.Max} with at most {Money.Scale} decimals.");
    }

    private static CommandError? Price(string field, decimal value)
    {
        if (value < 0)
        {
            return CommandError.Invalid(field, $"{field} must not be negative.");
        }

        return Money.FitsStorage(value) ? null : CommandError.Invalid(field, $"{field} must be at most {Money.Max} with at most {Money.Scale} decimals.");
    }

    private static CommandError? ExpectedVersion(long? version) =>
        version is < 1 ? CommandError.Invalid("expectedVersion", "expectedVersion must be 1 or greater.") : null;

    private static CommandError? Time(string field, DateTimeOffset? value) =>
        value is { } t && (t.UtcDateTime.Year < 1970 || t.UtcDateTime.Year > 9999)
            ? CommandError.Invalid(field, $"{field} must be a UTC time between 1970 and 9999.")
            : null;
}
