using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TradeStore.Core.Options;
using TradeStore.Server.Configuration;
using TradeStore.Server.Security;
using TradeStore.Storage;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>
/// <c>POST /v1/query</c> with <c>{"sql": "…"}</c>: one read-only SELECT over the trade tables, answered as JSON
/// (<c>{columns, rows, rowCount, truncated}</c>), CSV (<c>Accept: text/csv</c>), an Arrow IPC stream or a Parquet file
/// (<see cref="QueryResultFormats"/>), within <c>Security:Query</c>'s
/// limits (<see cref="QueryRunner"/>). Every refusal and failure is a problem+json.
/// </summary>
public static class QueryEndpoint
{
    public const string Path = "/v1/query";

    /// <summary>
    /// The seq DuckDB held when the query started: every write up to it is in the answer (DuckDB may hold more by the
    /// time it runs, never less). Below the answer's <c>TradeStore-Seq</c> when DuckDB's apply was behind the journal.
    /// </summary>
    public const string AppliedSeqHeader = "TradeStore-Applied-Seq";

    /// <summary>The problem types of a query that ran (<see cref="Failure"/>), whose answers carry <see cref="AppliedSeqHeader"/> too.</summary>
    internal static IReadOnlyList<string> RunProblems { get; } = ["too-many-requests", "query-rejected", "storage-failure", "query-memory", "query-timeout", "query-starved"];

    public static void AddServices(IServiceCollection services, TradeStoreSettings settings, DuckDbDatabase database)
    {
        var query = settings.Security.Query;
        if (!query.Enabled)
        {
            return;
        }

        SqlSandbox.LockDown(database);
        var sandbox = new SqlSandbox(database);
        services.AddSingleton(sandbox);
        services.AddSingleton(sp => new QueryRunner(sandbox, new QueryLimits(query.MaxRows, query.MaxResultBytes, query.Timeout, query.MaxMemory), query.MaxConcurrent,
            sp.GetService<TimeProvider>() ?? TimeProvider.System));
        services.AddSingleton(new QueryLog(query.SlowQueryThreshold));
    }

    public static void Map(WebApplication app)
    {
        if (app.Services.GetService<SqlSandbox>() is null)
        {
            return;
        }

        Log.QuerySandboxLocked(app.Logger);
        app.MapPost(Path, RunAsync).AddEndpointFilter(ApiErrorFilter.InvokeAsync).RequireAuthorization(SecurityPolicies.Query);
    }

    private static async Task<IResult> RunAsync(HttpContext context, QueryRunner runner, QueryLog queryLog, WriteEngine engine, ILoggerFactory loggers, IOptions<ApiOptions> api)
    {
        if (QueryParameters.Check(context.Request.Query) is { } parameter)
        {
            return ApiResults.Problem(context, parameter);
        }

        var (body, format, problem) = await RequestBody.ReadAsync(context, api.Value.MaxRequestBodyBytes, allowNdJson: false);
        if (problem is not null)
        {
            return ApiResults.Problem(context, problem);
        }

        var (sql, unreadable) = format == BodyFormat.Empty ? default : ParseSql(body);
        if (unreadable is not null)
        {
            return ApiResults.Problem(context, unreadable);
        }

        if (sql is null)
        {
            return ApiResults.Problem(context, Problems.Validation("sql", "Send a JSON object {\"sql\": \"SELECT …\"} and nothing else."));
        }

        if (!AccountAccess.Scope(context).IsAll)
        {
            // By design: SQL cannot be confined to accounts, so a key scoped to accounts could read every account through it.
            return ApiResults.Problem(context, Problems.Forbidden("A key scoped to accounts cannot run SQL: a query could read every account. Use a key without Accounts."));
        }

        var logger = loggers.CreateLogger(typeof(QueryEndpoint).FullName!);
        var caller = context.User.Identity?.Name ?? "anonymous";
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        // DuckDB trails the acknowledgements by up to Engine:ApplyInterval: the query sees every write acknowledged before it.
        // After the engine's few-second bound (far behind after a burst, failing, or held at Engine:MaxApplyBacklog) it reads what DuckDB holds,
        // and the answer's header says how far that is, so a stale answer is never silent.
        var lastSeq = engine.LastSeq;
        var caughtUp = await engine.WaitAppliedAsync(lastSeq);
        var appliedSeq = engine.AppliedSeq;
        if (!caughtUp)
        {
            Log.QueryBehindJournal(logger, caller, appliedSeq, lastSeq);
        }

        // Set before the query runs: a streamed answer's headers go out with its first segment.
        context.Response.Headers[AppliedSeqHeader] = appliedSeq.ToString(CultureInfo.InvariantCulture);
        var writer = QueryResultFormats.WriterFor(context.Request);
        var answer = new StreamingQueryBody(writer.Streams);
        var run = runner.RunAsync(sql, writer, answer, context.RequestAborted);
        _ = run.ContinueWith(_ => answer.Abandon(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        await Task.WhenAny(run, answer.Streaming);

        if (answer.Streaming.IsCompleted)
        {
            // Past StreamingQueryBody.StreamAfterBytes: the answer is sent as DuckDB produces it (even if the query has
            // finished meanwhile: its bytes are in the segments now, not in Held).
            return await StreamAsync(context, writer, answer, run, queryLog, logger, caller, started);
        }

        // Not streaming, so the query has finished: the whole answer is Held.

        QueryResult result;
        try
        {
            result = await run;
        }
        catch (Exception ex) when (Failure(ex, context, logger, caller) is { } failure)
        {
            return ApiResults.Problem(context, failure);
        }

        queryLog.Ran(logger, caller, result.RowCount, started);
        context.Response.Headers["X-Truncated"] = result.Truncation == QueryTruncation.None ? "false" : "true";
        return Results.Bytes(answer.Held, writer.ContentType);
    }

    /// <summary>
    /// Sends the answer's segments as they come. Until the first byte is sent a failure is still a problem+json; after it,
    /// the format's own error mark (<see cref="QueryResultWriter.WriteError"/>) ends what was sent: the clients raise the
    /// problem, and the body is not a valid document of its format, so no reader can take a partial answer as complete.
    /// </summary>
    private static async Task<IResult> StreamAsync(HttpContext context, QueryResultWriter writer, StreamingQueryBody body, Task<QueryResult> run,
        QueryLog queryLog, ILogger logger, string caller, long started)
    {
        var response = context.Response;
        try
        {
            await foreach (var segment in body.Segments.ReadAllAsync(CancellationToken.None))
            {
                if (!response.HasStarted)
                {
                    response.StatusCode = StatusCodes.Status200OK;
                    response.ContentType = writer.ContentType;
                }

                await response.Body.WriteAsync(segment, context.RequestAborted);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The caller went away: the query is interrupted through RequestAborted.
            body.Abandon();
        }

        QueryResult result;
        try
        {
            result = await run;
        }
        catch (Exception ex) when (Failure(ex, context, logger, caller) is { } problem)
        {
            if (!response.HasStarted)
            {
                return ApiResults.Problem(context, problem);
            }

            Log.QueryFailedWhileStreaming(logger, caller, problem.Type);
            var mark = new System.Buffers.ArrayBufferWriter<byte>();
            writer.WriteError(mark, JsonSerializer.SerializeToUtf8Bytes(problem, ApiJson.Context.ApiProblem));
            try
            {
                await response.Body.WriteAsync(mark.WrittenMemory, context.RequestAborted);
                await response.Body.FlushAsync(context.RequestAborted);
            }
            catch (Exception writeFailed) when (writeFailed is OperationCanceledException or IOException)
            {
                // Gone already.
            }

            return Results.Empty;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested || response.HasStarted)
        {
            // The caller went away (or stopped reading): nothing is left to answer.
            return Results.Empty;
        }

        queryLog.Ran(logger, caller, result.RowCount, started);
        return Results.Empty;
    }

    /// <summary>The problem for a failed query (and its log line); <see langword="null"/> for what is not a query's failure.</summary>
    private static ApiProblem? Failure(Exception ex, HttpContext context, ILogger logger, string caller)
    {
        switch (ex)
        {
            case QueryBusyException busy:
                return Problems.TooManyQueries(busy.MaxConcurrent, 1);
            case QueryRefusedException refused:
                return Problems.QueryRejected(refused.Message);
            case QueryStorageFailureException storage:
                return Problems.QueryStorageFailure(storage.Message);
            case QueryMemoryException memory:
                Log.QueryOverMemory(logger, caller, memory.MaxMemory);
                return Problems.QueryMemory(memory.MaxMemory);
            case QueryOutOfMemoryException duckDbMemory:
                Log.QueryOverDuckDbMemory(logger, caller, duckDbMemory.Message);
                return Problems.QueryDuckDbMemory(duckDbMemory.Message);
            case QueryStarvedException starved:
                Log.QueryStarved(logger, caller, starved.Timeout, starved.Times.Running.TotalMilliseconds, starved.Times.Waiting.TotalMilliseconds);
                return Problems.QueryStarved(starved.Timeout, starved.Times.Running, starved.Times.Waiting);
            case QueryTimeoutException timeout:
                Log.QueryTimedOut(logger, caller, timeout.Timeout);
                return Problems.QueryTimeout(timeout.Timeout);
            default:
                return null;
        }
    }

    /// <summary>
    /// The <c>sql</c> string of <c>{"sql": "…"}</c>; <see langword="null"/> for any other JSON (other properties are refused,
    /// not ignored). A body that is not JSON, or whose text is not Unicode, is a <c>malformed-json</c> problem saying where,
    /// as on every other endpoint: "send {"sql": …}" would not tell a client that built the JSON by hand what broke it.
    /// </summary>
    private static (string? Sql, ApiProblem? Unreadable) ParseSql(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return default;
            }

            string? sql = null;
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name != "sql" || sql is not null || property.Value.ValueKind != JsonValueKind.String)
                {
                    return default;
                }

                sql = property.Value.GetString();
            }

            return (string.IsNullOrWhiteSpace(sql) ? null : sql, null);
        }
        catch (JsonException ex)
        {
            return (null, Problems.FromJson(ex));
        }
        catch (InvalidOperationException ex) when (Problems.NotUnicode(ex) is { } why)
        {
            return (null, Problems.MalformedJson("sql", $"sql is not valid Unicode: {why}"));
        }
    }
}
