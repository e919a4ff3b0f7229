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
    /// <summary>Why the statement is refused, naming the function or table; <see langword="null"/> when it may run.</summary>
    public string? Refusal(JsonElement statement)
    {
        var ctes = new HashSet<string>(StringComparer.Ordinal);
        CollectCtes(statement, ctes);
        return Walk(statement, ctes, asTable: false);
    }

    private string? Walk(JsonElement element, HashSet<string> ctes, bool asTable)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (Walk(item, ctes, asTable: false) is { } refusal)
                    {
                        return refusal;
                    }
                }

                return null;
            case JsonValueKind.Object:
                return WalkObject(element, ctes, asTable);
            default:
                return null;
        }
    }

    private string? WalkObject(JsonElement node, HashSet<string> ctes, bool asTable)
    {
        var type = node.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
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

        foreach (var property in node.EnumerateObject())
        {
            // The "function" of a TABLE_FUNCTION reference is called as a table; its arguments are ordinary expressions.
            var refusal = Walk(property.Value, ctes, asTable: type == "TABLE_FUNCTION" && property.NameEquals("function"));
            if (refusal is not null)
            {
                return refusal;
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

    private static void CollectCtes(JsonElement element, HashSet<string> ctes)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                CollectCtes(item, ctes);
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
                CollectCtes(property.Value, ctes);
            }
        }
    }
}
