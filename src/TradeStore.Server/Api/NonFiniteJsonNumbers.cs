using System.Text;

namespace TradeStore.Server.Api;

/// <summary>
/// DuckDB's <c>to_json</c> writes a NaN or infinite <c>DOUBLE</c>/<c>FLOAT</c> inside a list, struct or map as a bare
/// <c>NaN</c>, <c>Infinity</c> or <c>-Infinity</c>, which is not JSON: the JSON answer embeds nested values as JSON, and
/// such a value made <c>POST /v1/query</c> a 500. They become the strings a scalar NaN or infinity is written as
/// (<c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c>).
/// </summary>
internal static class NonFiniteJsonNumbers
{
    /// <summary>
    /// <paramref name="json"/> with each bare <c>NaN</c>, <c>Infinity</c> and <c>-Infinity</c> outside a string quoted;
    /// the same instance when it holds none. Outside strings JSON has no capital letters, so an <c>N</c> or <c>I</c> there
    /// can only start one of them.
    /// </summary>
    public static string Quote(string json)
    {
        if (json.AsSpan().IndexOfAny('N', 'I') < 0)
        {
            return json;
        }

        StringBuilder? quoted = null;
        var copied = 0;
        var inString = false;
        for (var i = 0; i < json.Length; i++)
        {
            var c = json[i];
            if (inString)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == '"')
                {
                    inString = false;
                }

                continue;
            }

            if (c == '"')
            {
                inString = true;
                continue;
            }

            var token = Token(json, i);
            if (token is null)
            {
                continue;
            }

            quoted ??= new StringBuilder(json.Length + 16);
            quoted.Append(json, copied, i - copied).Append('"').Append(token).Append('"');
            i += token.Length - 1;
            copied = i + 1;
        }

        return quoted is null ? json : quoted.Append(json, copied, json.Length - copied).ToString();
    }

    private static string? Token(string json, int at)
    {
        foreach (var token in (ReadOnlySpan<string>)["NaN", "Infinity", "-Infinity"])
        {
            if (json.AsSpan(at).StartsWith(token, StringComparison.Ordinal))
            {
                return token;
            }
        }

        return null;
    }
}
