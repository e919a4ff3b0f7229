using System.Collections.Frozen;

namespace TradeStore.Storage.Query;

/// <summary>Where a function name appears in a query: in an expression, or as a table in <c>FROM</c>.</summary>
public enum FunctionPlace
{
    /// <summary>Scalar, aggregate and window functions and scalar macros.</summary>
    Function,

    /// <summary>Table functions and table macros.</summary>
    Table,
}

/// <summary>One decided name of <c>query-functions.txt</c>.</summary>
/// <param name="Allowed">Whether a query may call it.</param>
/// <param name="Place">Where it is called.</param>
/// <param name="Name">The lower-case name.</param>
/// <param name="Reason">Why it is refused, or <see langword="null"/>.</param>
/// <param name="ParserOnly">A name the parser emits that <c>duckdb_functions()</c> does not list (<c>unnest</c> in a select list).</param>
public sealed record FunctionDecision(bool Allowed, FunctionPlace Place, string Name, string? Reason, bool ParserOnly);

/// <summary>
/// The allow-list of functions and table functions a read-only analytical query may call (the embedded
/// <c>query-functions.txt</c>). By design an allow-list, not a deny-list: a DuckDB release that adds a function
/// leaves it refused, and a test comparing the file with <c>duckdb_functions()</c> fails until someone decides.
/// </summary>
public sealed class QueryFunctionPolicy
{
    private readonly FrozenSet<string> _functions;
    private readonly FrozenSet<string> _tables;

    private QueryFunctionPolicy(IReadOnlyList<FunctionDecision> decisions)
    {
        Decisions = decisions;
        _functions = decisions.Where(d => d.Allowed && d.Place == FunctionPlace.Function).Select(d => d.Name).ToFrozenSet(StringComparer.Ordinal);
        _tables = decisions.Where(d => d.Allowed && d.Place == FunctionPlace.Table).Select(d => d.Name).ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>The policy shipped with this build.</summary>
    public static QueryFunctionPolicy Default { get; } = Load();

    /// <summary>Every decided name, allowed or refused.</summary>
    public IReadOnlyList<FunctionDecision> Decisions { get; }

    /// <summary>The table functions a query may call, sorted (named in refusals).</summary>
    public IEnumerable<string> AllowedTables => _tables.Order(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="name"/> (any case) may be called at <paramref name="place"/>.</summary>
    public bool Allows(FunctionPlace place, string name)
    {
        var key = name.ToLowerInvariant();
        return place == FunctionPlace.Table ? _tables.Contains(key) : _functions.Contains(key);
    }

    /// <summary>Parses the file format: <c>allow|refuse function|table|parser name [# why]</c>, <c>#</c> comments, blank lines.</summary>
    /// <exception cref="FormatException">A line does not follow the format.</exception>
    public static QueryFunctionPolicy Parse(string text)
    {
        var decisions = new List<FunctionDecision>();
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var hash = raw.IndexOf(" #", StringComparison.Ordinal);
            var reason = hash >= 0 ? raw[(hash + 2)..].Trim() : null;
            var line = (hash >= 0 ? raw[..hash] : raw).Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 3 || parts[0] is not ("allow" or "refuse") || parts[1] is not ("function" or "table" or "parser"))
            {
                throw new FormatException($"query-functions.txt line {number}: expected 'allow|refuse function|table|parser <name>', got '{line}'.");
            }

            decisions.Add(new FunctionDecision(parts[0] == "allow", parts[1] == "table" ? FunctionPlace.Table : FunctionPlace.Function,
                parts[2].ToLowerInvariant(), reason, parts[1] == "parser"));
        }

        return new QueryFunctionPolicy(decisions);
    }

    private static QueryFunctionPolicy Load()
    {
        using var stream = typeof(QueryFunctionPolicy).Assembly.GetManifestResourceStream("TradeStore.Storage.Query.query-functions.txt")
            ?? throw new InvalidOperationException("The embedded query-functions.txt is missing from this build.");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }
}
