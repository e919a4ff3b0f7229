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

    private static async Task<IResult> RunAsync(HttpContext context, QueryRunner runner, ILoggerFactory loggers, IOptions<ApiOptions> api)
    {
        var (body, format, problem) = await RequestBody.ReadAsync(context, api.Value.MaxRequestBodyBytes, allowNdJson: false);
        if (problem is not null)
        {
            return ApiResults.Problem(context, problem);
        }

        if (format == BodyFormat.Empty || ParseSql(body) is not { } sql)
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
        QueryOutput output;
        try
        {
            output = await runner.RunAsync(sql, QueryResultFormats.WriterFor(context.Request), context.RequestAborted);
        }
        catch (QueryBusyException)
        {
            context.Response.Headers.RetryAfter = "1";
            return ApiResults.Problem(context, Problems.TooManyRequests(1));
        }
        catch (QueryRefusedException ex)
        {
            return ApiResults.Problem(context, Problems.QueryRejected(ex.Message));
        }
        catch (QueryMemoryException ex)
        {
            Log.QueryOverMemory(logger, caller, ex.MaxMemory);
            return ApiResults.Problem(context, Problems.QueryMemory(ex.MaxMemory));
        }
        catch (QueryOutOfMemoryException ex)
        {
            Log.QueryOverDuckDbMemory(logger, caller, ex.Message);
            return ApiResults.Problem(context, Problems.QueryDuckDbMemory(ex.Message));
        }
        catch (QueryTimeoutException ex)
        {
            Log.QueryTimedOut(logger, caller, ex.Timeout);
            return ApiResults.Problem(context, Problems.QueryTimeout(ex.Timeout));
        }

        Log.QueryRan(logger, caller, output.RowCount, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        context.Response.Headers["X-Truncated"] = output.Truncation == QueryTruncation.None ? "false" : "true";
        return Results.Bytes(output.Body, output.ContentType);
    }

    /// <summary>The <c>sql</c> string of <c>{"sql": "…"}</c>; <see langword="null"/> for anything else (other properties are refused, not ignored).</summary>
    private static string? ParseSql(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            string? sql = null;
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name != "sql" || sql is not null || property.Value.ValueKind != JsonValueKind.String)
                {
                    return null;
                }

                sql = property.Value.GetString();
            }

            return string.IsNullOrWhiteSpace(sql) ? null : sql;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
