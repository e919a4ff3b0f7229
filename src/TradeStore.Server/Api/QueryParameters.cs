using System.Buffers;
using Microsoft.AspNetCore.Http;
using TradeStore.Core.Trades;

namespace TradeStore.Server.Api;

/// <summary>Query-string checks shared by the endpoints.</summary>
public static class QueryParameters
{
    private static readonly SearchValues<char> ControlCharacters = SearchValues.Create([.. Enumerable.Range(0, 0x20).Select(c => (char)c), '\u007f']);

    /// <summary>
    /// By design an unknown, repeated or empty query parameter is a 400: a typo such as <c>acount=</c>, or an
    /// <c>account=</c> whose value a script forgot to fill in, would otherwise widen a filter silently and return
    /// other accounts' trades; a parameter the endpoint does not take (<c>?expectedVersion=</c> on a fill, whose
    /// version goes in the body) would otherwise be ignored and the write made unconditionally.
    /// </summary>
    public static ApiProblem? Check(IQueryCollection query, params ReadOnlySpan<string> known)
    {
        if (query.Count == 0)
        {
            return null;
        }

        foreach (var (name, values) in query)
        {
            if (!known.Contains(name))
            {
                // minSeq never reaches here: ReadYourWrites takes it off every request first, so it is named as accepted.
                return known.IsEmpty
                    ? Problems.Validation(name, $"This endpoint takes no query parameters besides minSeq; got '{Problems.Echo(name)}'.{BodyHint(name)}")
                    : Problems.Validation(name, $"Unknown query parameter '{Problems.Echo(name)}'; accepted: {string.Join(", ", known.ToArray())}, and minSeq on every endpoint.");
            }

            if (values.Count > 1)
            {
                return Problems.Validation(name, $"The query parameter '{name}' is given {values.Count} times; give it once.");
            }

            if (string.IsNullOrEmpty(values[0]))
            {
                return Problems.Validation(name, $"The query parameter '{name}' is empty; give it a value or leave it out.");
            }

            // No account, symbol, cursor or time holds one; a filter value with one would only ever match nothing.
            if (values[0].AsSpan().IndexOfAny(ControlCharacters) is var at and >= 0)
            {
                return Problems.Validation(name, $"The query parameter '{name}' holds the control character U+{(int)values[0]![at]:X4} at position {at + 1}; no value takes one.");
            }
        }

        return null;
    }

    /// <summary>
    /// By design an <c>account</c> or <c>symbol</c> filter that no trade can hold (a stray space from a copied cell, any
    /// character or length a create refuses) is a 400 naming it: it would
    /// otherwise answer an empty list, a flat book or a change stream that never delivers, which reads as "nothing there".
    /// A well-formed name without trades (or of an account the key may not read) is still an empty answer.
    /// </summary>
    public static ApiProblem? CheckNames(IQueryCollection query)
    {
        foreach (var name in (ReadOnlySpan<string>)["account", "symbol"])
        {
            if (query.TryGetValue(name, out var values) && values[0] is { Length: > 0 } value
                && (name == "account" ? TradeValidation.Account(value) : TradeValidation.Symbol(value)) is { } error)
            {
                return Problems.Validation(name, $"No trade can have the {name} '{Problems.Echo(value)}': {error.Message}");
            }
        }

        return null;
    }

    /// <summary>Where a command's parameter goes instead, for the names a client may try in the query string.</summary>
    private static string BodyHint(string name) => name switch
    {
        "expectedVersion" or "quantity" or "price" => $" {name} goes in the JSON body.",
        "idempotencyKey" => " Send it as the Idempotency-Key header (a batch item: the item's idempotencyKey).",
        _ => "",
    };
}
