using Microsoft.AspNetCore.Http;
using TradeStore.Core.Trades;
using TradeStore.Server.Api;

namespace TradeStore.Server.Tests;

/// <summary>The documented mapping of every refusal kind to HTTP (README "HTTP API").</summary>
public sealed class ProblemsTests
{
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
        Assert.All(Enum.GetValues<CommandErrorKind>(), kind =>
            Assert.NotEqual("urn:tradestore:problem:internal", Problems.From(new CommandError(kind, "x")).Type));
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
