using Microsoft.AspNetCore.Http;

namespace TradeStore.Server.Api;

/// <summary>Query-string checks shared by the endpoints.</summary>
public static class QueryParameters
{
    /// <summary>
    /// By design an unknown or repeated query parameter is a 400: a typo such as <c>acount=</c> would otherwise
    /// widen a filter silently and return other accounts' trades.
    /// </summary>
    public static ApiProblem? Unknown(IQueryCollection query, params ReadOnlySpan<string> known)
    {
        foreach (var (name, values) in query)
        {
            if (!known.Contains(name))
            {
                return Problems.Validation(name, $"Unknown query parameter '{name}'; accepted: {string.Join(", ", known.ToArray())}.");
            }

            if (values.Count > 1)
            {
                return Problems.Validation(name, $"The query parameter '{name}' is given {values.Count} times; give it once.");
            }
        }

        return null;
    }
}
