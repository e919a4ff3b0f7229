using System.Buffers;

namespace TradeStore.Core.Trades;

/// <summary>
/// The characters a name may hold: ASCII letters and digits and a few punctuation marks. One instance is the one place
/// a set is spelled: the check (<see cref="IsSpelledWith"/>), the refusal's wording (<see cref="Described"/>) and the
/// OpenAPI pattern (<see cref="Pattern"/>) are all built from it, so a generated client's rule is the server's rule.
/// </summary>
public sealed class NameCharacters
{
    private const string LettersAndDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A trade id: it is one URL path segment, so no '/'.</summary>
    public static readonly NameCharacters TradeId = new("._:-");

    /// <summary>An account or a symbol: '/' is allowed (a symbol such as EUR/USD).</summary>
    public static readonly NameCharacters Code = new("._:/-");

    private readonly string _punctuation;
    private readonly SearchValues<char> _allowed;

    /// <param name="punctuation">The marks allowed besides letters and digits; '-' last, so the pattern's class reads it literally.</param>
    private NameCharacters(string punctuation)
    {
        _punctuation = punctuation;
        _allowed = SearchValues.Create(LettersAndDigits + punctuation);
    }

    /// <summary>Whether <paramref name="value"/> is 1 to <paramref name="maxLength"/> characters of this set.</summary>
    public bool IsSpelledWith(string value, int maxLength) =>
        value.Length >= 1 && value.Length <= maxLength && !value.AsSpan().ContainsAnyExcept(_allowed);

    /// <summary>The set as a refusal names it: <c>A-Z, a-z, 0-9, '.', '_', ':', '-'</c>.</summary>
    public string Described => "A-Z, a-z, 0-9, " + string.Join(", ", _punctuation.Select(c => $"'{c}'"));

    /// <summary>An ECMA-262 pattern (as JSON Schema reads it) for 1 to <paramref name="maxLength"/> characters of this set.</summary>
    public string Pattern(int maxLength) => $"^[A-Za-z0-9{_punctuation}]{{1,{maxLength}}}$";
}
