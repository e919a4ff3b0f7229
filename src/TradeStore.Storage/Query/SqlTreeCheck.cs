using System.Text.Json;

namespace TradeStore.Storage.Query;

/// <summary>
/// Checks the parse tree <c>json_serialize_sql</c> gives for one SELECT: every function and table function is on
/// the allow-list (<see cref="QueryFunctionPolicy"/>), every table is one of this database's own tables or views (or a
/// CTE of the query), and no DESCRIBE/SUMMARIZE/SHOW. The whole tree is walked, so subqueries, CTEs, window
/// clauses and lambda bodies are checked alike.
/// </summary>
internal sealed class SqlTreeCheck(QueryFunctionPolicy policy, IReadOnlySet<string> tables, IReadOnlySet<string> catalogRelations)
{
    /// <summary>
    /// How deep <c>-></c> may nest. DuckDB parses every <c>-></c> as a lambda, a JSON arrow too (<c>j -> 'a' -> 'b'</c>), and
    /// binds nested ones in time that grows exponentially with the depth (measured on DuckDB 1.5, lambdas in lambda bodies:
    /// 16 levels 0.3–2 s, 20 levels 6 s, 25 past the 10 s query timeout, 300 still binding after minutes; a JSON arrow
    /// chain: 20 levels 3 s, 24 past the timeout). Binding is out of reach of DuckDB's interrupt, so such a query was
    /// answered at its timeout but kept its query slot and a core busy for as long as binding took (it then ran at normal
    /// priority; it now runs on the slot's niced thread, see <see cref="SqlSandbox.Prepare"/>). Eight levels bind in milliseconds; real queries nest two or three, and a deep
    /// JSON path is one <c>json_extract(j, '$.a.b.c')</c>.
    /// </summary>
    public const int MaxLambdaNesting = 8;

    /// <summary>Why the statement is refused, naming the function or table; <see langword="null"/> when it may run.</summary>
    /// <remarks>
    /// By design a loop over an explicit stack, not recursion: a statement DuckDB accepts nests up to its
    /// <c>max_expression_depth</c> of 1,000 expressions (a sum of 1,000 columns), each several levels of the tree, more
    /// levels than a thread's stack has room for frames. Nodes are visited in document order, so the first refusal
    /// named is the first in the statement.
    /// </remarks>
    public string? Refusal(JsonElement statement)
    {
        var ctes = new HashSet<string>(StringComparer.Ordinal);
        CollectCtes(statement, ctes);
        var pending = new Stack<(JsonElement Element, bool AsTable, int Lambdas)>();
        pending.Push((statement, false, 0));
        var children = new List<(JsonElement, bool, int)>();
        while (pending.TryPop(out var next))
        {
            var (element, asTable, lambdas) = next;
            children.Clear();
            if (element.ValueKind == JsonValueKind.Array)
            {
                children.AddRange(element.EnumerateArray().Select(item => (item, false, lambdas)));
            }
            else if (element.ValueKind == JsonValueKind.Object)
            {
                if (NodeRefusal(element, ctes, asTable) is { } refusal)
                {
                    return refusal;
                }

                if (IsLambda(element) && ++lambdas > MaxLambdaNesting)
                {
                    return $"'->' nests more than {MaxLambdaNesting} deep (lambdas x -> …, or JSON arrows j -> 'a' -> 'b'); DuckDB's time to bind them grows exponentially with each level. Nest fewer; for a deep JSON path use json_extract(j, '$.a.b').";
                }

                // The "function" of a TABLE_FUNCTION reference is called as a table; its arguments are ordinary expressions.
                var tableFunction = TypeOf(element) == "TABLE_FUNCTION";
                children.AddRange(element.EnumerateObject().Select(property => (property.Value, tableFunction && property.NameEquals("function"), lambdas)));
            }

            for (var i = children.Count - 1; i >= 0; i--)
            {
                pending.Push(children[i]);
            }
        }

        return null;
    }

    private static bool IsLambda(JsonElement node) =>
        node.TryGetProperty("class", out var kind) && kind.ValueKind == JsonValueKind.String && kind.ValueEquals("LAMBDA");

    private static string? TypeOf(JsonElement node) =>
        node.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;

    /// <summary>Why this one node (not its children) is refused; <see langword="null"/> when it may run.</summary>
    private string? NodeRefusal(JsonElement node, HashSet<string> ctes, bool asTable)
    {
        var type = TypeOf(node);
        if (type == "SHOW_REF")
        {
            return "DESCRIBE, SUMMARIZE and SHOW are not accepted; select from the tables (trade_events, current_trade_state, …) instead.";
        }

        if (node.TryGetProperty("class", out var kind) && kind.ValueKind == JsonValueKind.String && kind.ValueEquals("PARAMETER"))
        {
            return "Parameters ($1, ?) are not accepted: the query takes no values besides its text; write them into the SQL.";
        }

        if (type == "BASE_TABLE" && TableRefusal(node, ctes) is { } tableRefusal)
        {
            return tableRefusal;
        }

        if (node.TryGetProperty("function_name", out var name) && name.ValueKind == JsonValueKind.String)
        {
            var place = asTable ? FunctionPlace.Table : FunctionPlace.Function;
            var function = name.GetString()!;
            if (!policy.Allows(place, function))
            {
                return place == FunctionPlace.Table
                    ? $"The table function '{function}' may not be called in a query; the allowed ones are {string.Join(", ", policy.AllowedTables)}."
                    : $"The function '{function}' may not be called in a query (it is not on the allow-list of read-only analytical functions).";
            }
        }

        return null;
    }

    private string? TableRefusal(JsonElement node, HashSet<string> ctes)
    {
        var table = (node.GetProperty("table_name").GetString() ?? "").ToLowerInvariant();
        var schema = node.TryGetProperty("schema_name", out var s) ? s.GetString() ?? "" : "";
        var catalog = node.TryGetProperty("catalog_name", out var c) ? c.GetString() ?? "" : "";
        var unqualified = catalog.Length == 0 && schema.Length == 0;
        var ownTable = catalog.Length == 0 && schema is "" or "main" && tables.Contains(table);
        // A CTE name is honoured only when it cannot resolve to anything else (a system view, a file) outside its scope.
        var cte = unqualified && ctes.Contains(table) && !catalogRelations.Contains(table) && IsPlainIdentifier(table);
        return ownTable || cte ? null
            : $"The table '{Qualified(catalog, schema, table)}' may not be read; queries read this database's tables and views: {string.Join(", ", tables.Order(StringComparer.Ordinal))}.";
    }

    private static string Qualified(string catalog, string schema, string table) =>
        string.Join('.', new[] { catalog, schema, table }.Where(p => p.Length > 0));

    private static bool IsPlainIdentifier(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_');

    /// <summary>The names of every CTE anywhere in the statement (an explicit stack, as in <see cref="Refusal"/>).</summary>
    private static void CollectCtes(JsonElement statement, HashSet<string> ctes)
    {
        var pending = new Stack<JsonElement>();
        pending.Push(statement);
        while (pending.TryPop(out var element))
        {
            if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in element.EnumerateArray())
                {
                    pending.Push(item);
                }
            }
            else if (element.ValueKind == JsonValueKind.Object)
            {
                if (element.TryGetProperty("cte_map", out var map) && map.ValueKind == JsonValueKind.Object && map.TryGetProperty("map", out var entries))
                {
                    foreach (var entry in entries.EnumerateArray())
                    {
                        if (entry.TryGetProperty("key", out var key) && key.ValueKind == JsonValueKind.String)
                        {
                            ctes.Add(key.GetString()!.ToLowerInvariant());
                        }
                    }
                }

                foreach (var property in element.EnumerateObject())
                {
                    pending.Push(property.Value);
                }
            }
        }
    }
}
