using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TradeStore.Core.Trades;
using TradeStore.Server.Api;
using TradeStore.Server.OpenApi;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests;

/// <summary>The documented mapping of every refusal kind to HTTP (docs/api.md, "Errors").</summary>
public sealed partial class ProblemsTests
{
    /// <summary>
    /// docs/api.md's error table and <see cref="ProblemCatalog"/> (what the OpenAPI document lists) name the same problem
    /// types with the same statuses: a row per type (a row may give several types and statuses), no type of its own.
    /// </summary>
    [Fact]
    public void Docs_ApiErrorsTable_ListsEveryProblemTypeOfTheCatalogAndNoOther()
    {
        var rows = File.ReadLines(Path.Combine(TradeStoreProcess.RepositoryRoot, "docs", "api.md"))
            .Select(line => ErrorRow().Match(line)).Where(row => row.Success)
            .Select(row => (Statuses: StatusNumber().Matches(row.Groups["statuses"].Value).Select(m => int.Parse(m.Value, System.Globalization.CultureInfo.InvariantCulture)).ToHashSet(),
                Types: TypeName().Matches(row.Groups["types"].Value).Select(m => m.Groups["type"].Value).ToHashSet()))
            .ToList();

        var missing = ProblemCatalog.All.Where(p => !rows.Any(row => row.Statuses.Contains(p.Status) && row.Types.Contains(p.Slug)))
            .Select(p => $"{p.Status} {p.Slug}");
        var unknown = rows.SelectMany(row => row.Types).Where(type => ProblemCatalog.All.All(p => p.Slug != type));

        Assert.Empty(missing);
        Assert.Empty(unknown);
    }

    /// <summary>A row of the error table: <c>| 409, 410 | `stale-term`, `log-diverged` | when |</c>.</summary>
    [GeneratedRegex(@"^\|\s*(?<statuses>\d{3}(?:,\s*\d{3})*)\s*\|(?<types>\s*`[a-z-]+`[^|]*)\|")]
    private static partial Regex ErrorRow();

    [GeneratedRegex(@"\d{3}")]
    private static partial Regex StatusNumber();

    [GeneratedRegex(@"`(?<type>[a-z-]+)`")]
    private static partial Regex TypeName();

    [Theory]
    [InlineData(CommandErrorKind.Validation, 400, "validation")]
    [InlineData(CommandErrorKind.NotFound, 404, "not-found")]
    [InlineData(CommandErrorKind.AlreadyExists, 409, "already-exists")]
    [InlineData(CommandErrorKind.VersionConflict, 409, "version-conflict")]
    [InlineData(CommandErrorKind.InvalidTransition, 409, "invalid-transition")]
    [InlineData(CommandErrorKind.Busy, 503, "busy")]
    [InlineData(CommandErrorKind.Unavailable, 503, "unavailable")]
    [InlineData(CommandErrorKind.StorageFailure, 500, "storage-failure")]
    [InlineData(CommandErrorKind.IdempotencyKeyReused, 422, "idempotency-key-reused")]
    public void From_EveryErrorKind_DocumentedStatusAndType(CommandErrorKind kind, int status, string type)
    {
        var problem = Problems.From(new CommandError(kind, "words", "quantity", 7));

        Assert.Equal(status, problem.Status);
        Assert.Equal("urn:tradestore:problem:" + type, problem.Type);
        Assert.Equal("words", problem.Detail);
        Assert.Equal("quantity", problem.Field);
    }

    [Fact]
    public void From_EveryErrorKind_Covered()
    {
        Assert.All(Enum.GetValues<CommandErrorKind>().Where(kind => kind != CommandErrorKind.InDoubt), kind =>
            Assert.NotEqual("urn:tradestore:problem:internal", Problems.From(new CommandError(kind, "x")).Type));
    }

    /// <summary>A write the writer stopped after it reached the journal log: the one command answer that is 500 internal, which clients take as in doubt.</summary>
    [Fact]
    public void From_InDoubt_InternalWithItsDetail()
    {
        var problem = Problems.From(new CommandError(CommandErrorKind.InDoubt, "may have been applied"));

        Assert.Equal((500, "urn:tradestore:problem:internal", "may have been applied"), (problem.Status, problem.Type, problem.Detail));
    }

    [Fact]
    public void QueryStorageFailure_DuckDbFailedForGood_ServerFaultNotTheCallersSql()
    {
        var problem = Problems.QueryStorageFailure("DuckDB failed for good … DuckDB said: FATAL Error: …");

        Assert.Equal(500, problem.Status);
        Assert.Equal("urn:tradestore:problem:storage-failure", problem.Type);
        Assert.Null(problem.Field);
    }

    [Fact]
    public void Command_Busy_RetryAfterHeader()
    {
        var context = new DefaultHttpContext();
        var result = CommandResult.Refused(new CommandError(CommandErrorKind.Busy, "The write queue is full."));

        ApiResults.Command(context, new CancelTrade("T-1"), result);

        Assert.Equal("1", context.Response.Headers.RetryAfter.ToString());
    }

    /// <summary>Every problem the API makes, one per factory (a few factories of one type each).</summary>
    public static TheoryData<string, ApiProblem> EveryProblemFactory => new()
    {
        { "busy", Problems.From(new CommandError(CommandErrorKind.Busy, "The write queue is full.")) },
        { "unavailable", Problems.From(new CommandError(CommandErrorKind.Unavailable, "stopping")) },
        { "replication-unavailable", Problems.From(new CommandError(CommandErrorKind.ReplicationUnavailable, "no follower")) },
        { "too-many-requests 3", Problems.TooManyRequests(3) },
        { "too-many-requests for queries", Problems.TooManyQueries(2, 1) },
        { "etcd-unavailable", Server.Cluster.ClusterProblems.EtcdUnavailable("refused") },
        { "too-many-subscribers", Server.Changes.ChangeProblems.TooManySubscribers(10) },
        { "no-leader", Server.Cluster.ClusterProblems.NoLeader() },
        { "leadership-lost", Server.Cluster.ClusterProblems.LeadershipLost(7) },
        { "seq-not-reached", Server.Cluster.ReplicationProblems.SeqNotReached(10, 5, TimeSpan.FromSeconds(1)) },
        { "seq-not-reached by a change-feed resume point", Server.Changes.ChangeProblems.SeqNotReached("fromSeq", 10, 5, TimeSpan.FromSeconds(1)) },
        { "seq-not-applied", Server.Cluster.ReplicationProblems.SeqNotApplied(10, 5, TimeSpan.FromSeconds(1)) },
        { "validation", Problems.Validation("quantity", "must be positive") },
    };

    /// <summary>
    /// The header comes from the problem itself (no endpoint sets it by hand), exactly for the types the OpenAPI
    /// document declares with <c>Retry-After</c>, and it is never part of the body.
    /// </summary>
    [Theory]
    [MemberData(nameof(EveryProblemFactory))]
    public async Task Problem_RetryAfterExactlyForTheTypesTheCatalogDeclaresIt(string name, ApiProblem problem)
    {
        var context = new DefaultHttpContext { RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider() };
        context.Response.Body = new MemoryStream();

        await ApiResults.Problem(context, problem).ExecuteAsync(context);

        var slug = problem.Type["urn:tradestore:problem:".Length..];
        var declared = Server.OpenApi.ProblemCatalog.All.Single(t => t.Slug == slug).RetryAfter;
        var header = context.Response.Headers.RetryAfter.ToString();
        Assert.True(declared == (header.Length > 0), $"{name}: catalog says Retry-After {declared}, header '{header}'");
        if (declared)
        {
            Assert.Equal(problem.RetryAfterSeconds.ToString(), header);
            Assert.True(int.Parse(header, System.Globalization.CultureInfo.InvariantCulture) >= 1, name);
        }

        var body = System.Text.Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray());
        Assert.DoesNotContain("retryAfter", body, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(problem.Type, body, StringComparison.Ordinal);
    }

    [Fact]
    public void TooManySubscribers_AsksForFiveSecondsAndSaysSo()
    {
        var problem = Server.Changes.ChangeProblems.TooManySubscribers(10);

        Assert.Equal(5, problem.RetryAfterSeconds);
        Assert.Contains("retry in 5 s", problem.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("$.quantity", "quantity")]
    [InlineData("$['odd name']", "odd name")]
    [InlineData("$", null)]
    [InlineData("$[3]", null)]
    [InlineData("$['a[']", "a[")]
    [InlineData("$['a']']", "a']")]
    [InlineData("$['a']'].b", "b")]
    [InlineData("$['a.b']", "a.b")]
    [InlineData("$.items[2].price", "price")]
    [InlineData("$['unterminated", null)]
    [InlineData("$[", null)]
    [InlineData(null, null)]
    public void FieldOf_JsonPath_LastPropertyName(string? path, string? field) => Assert.Equal(field, Problems.FieldOf(path));
}
