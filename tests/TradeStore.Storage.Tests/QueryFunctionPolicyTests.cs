using TradeStore.Storage.Query;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>The query allow-list against the DuckDB this build ships: every function decided, no stale names.</summary>
public sealed class QueryFunctionPolicyTests
{
    [Fact]
    public void Policy_EveryFunctionOfThisDuckDb_IsDecided()
    {
        var listed = ListedFunctions();
        var decided = QueryFunctionPolicy.Default.Decisions.Select(d => (d.Place, d.Name)).ToHashSet();

        var undecided = listed.Where(f => !decided.Contains(f)).Select(f => $"{f.Place} {f.Name}").Order(StringComparer.Ordinal).ToList();

        // A DuckDB upgrade that adds a function lands here: decide it in src/TradeStore.Storage/Query/query-functions.txt.
        Assert.True(undecided.Count == 0, "Undecided functions: " + string.Join(", ", undecided));
    }

    [Fact]
    public void Policy_EveryDecidedName_ExistsInThisDuckDb()
    {
        var listed = ListedFunctions();

        var stale = QueryFunctionPolicy.Default.Decisions.Where(d => !d.ParserOnly && !listed.Contains((d.Place, d.Name))).Select(d => d.Name).ToList();

        Assert.Empty(stale);
    }

    [Theory]
    [InlineData(FunctionPlace.Table, "enable_logging")]
    [InlineData(FunctionPlace.Table, "read_blob")]
    [InlineData(FunctionPlace.Table, "checkpoint")]
    [InlineData(FunctionPlace.Table, "query")]
    [InlineData(FunctionPlace.Table, "duckdb_settings")]
    [InlineData(FunctionPlace.Function, "range")]
    [InlineData(FunctionPlace.Function, "current_setting")]
    [InlineData(FunctionPlace.Function, "nextval")]
    public void Policy_StateChangingOrFileReadingFunction_Refused(FunctionPlace place, string name) =>
        Assert.False(QueryFunctionPolicy.Default.Allows(place, name));

    [Theory]
    [InlineData(FunctionPlace.Table, "range")]
    [InlineData(FunctionPlace.Table, "unnest")]
    [InlineData(FunctionPlace.Function, "sum")]
    [InlineData(FunctionPlace.Function, "date_trunc")]
    [InlineData(FunctionPlace.Function, "SUM")]
    public void Policy_AnalyticalFunction_Allowed(FunctionPlace place, string name) =>
        Assert.True(QueryFunctionPolicy.Default.Allows(place, name));

    [Fact]
    public void Parse_MalformedLine_FormatExceptionNamingLine()
    {
        var ex = Assert.Throws<FormatException>(() => QueryFunctionPolicy.Parse("allow function abs\npermit table range\n"));

        Assert.Contains("line 2", ex.Message, StringComparison.Ordinal);
    }

    private static HashSet<(FunctionPlace Place, string Name)> ListedFunctions()
    {
        using var directory = new TempDirectory("policy");
        using var database = DuckDbDatabase.Open(directory.DatabasePath);
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT function_type, function_name FROM duckdb_functions() WHERE function_type <> 'pragma'";
        using var reader = command.ExecuteReader();
        var listed = new HashSet<(FunctionPlace, string)>();
        while (reader.Read())
        {
            var place = reader.GetString(0) is "table" or "table_macro" ? FunctionPlace.Table : FunctionPlace.Function;
            listed.Add((place, reader.GetString(1).ToLowerInvariant()));
        }

        return listed;
    }
}
