using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TradeStore.Server.Configuration;
using TradeStore.Server.Security;
using TradeStore.Storage;
using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>
/// <c>POST /v1/query</c> with <c>{"sql": "…"}</c>: one read-only SELECT over the trade tables, answered as JSON
/// (<c>{columns, rows, rowCount, truncated}</c>) or CSV (<c>Accept: text/csv</c>).
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
        services.AddSingleton(new SqlSandbox(database, query.MaxRows, query.Timeout));
        services.AddSingleton(new QueryGate(query.MaxConcurrent));
    }

    public static void Map(WebApplication app)
    {
        if (app.Services.GetService<SqlSandbox>() is null)
        {
            return;
        }

        Log.QuerySandboxLocked(app.Logger);
        app.MapPost(Path, RunAsync).RequireAuthorization(SecurityPolicies.Query);
    }

    private static async Task<IResult> RunAsync(HttpContext context, SqlSandbox sandbox, QueryGate gate, ILoggerFactory loggers, Microsoft.Extensions.Options.IOptions<Core.Options.ApiOptions> api)
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

        if (!gate.TryEnter())
        {
            context.Response.Headers.RetryAfter = "1";
            return ApiResults.Problem(context, Problems.TooManyRequests(1));
        }

        var logger = loggers.CreateLogger(typeof(QueryEndpoint).FullName!);
        var caller = context.User.Identity?.Name ?? "anonymous";
        QueryResult result;
        try
        {
            // DuckDB blocks the calling thread; run it off the request thread so the timer can interrupt it.
            result = await Task.Run(() => sandbox.Run(sql, context.RequestAborted), context.RequestAborted);
        }
        catch (QueryRefusedException ex)
        {
            return ApiResults.Problem(context, Problems.QueryRejected(ex.Message));
        }
        catch (QueryTimeoutException ex)
        {
            Log.QueryTimedOut(logger, caller, ex.Timeout);
            return ApiResults.Problem(context, Problems.QueryTimeout(ex.Timeout));
        }
        finally
        {
            gate.Exit();
        }

        Log.QueryRan(logger, caller, result.Rows.Count, result.Duration.TotalMilliseconds);
        if (QueryResultFormats.Negotiate(context, result) is { } binary)
        {
            return binary; // Arrow or Parquet (Accept), streamed
        }

        var wantsCsv = context.Request.Headers.Accept.Any(a => a?.Contains("text/csv", StringComparison.OrdinalIgnoreCase) == true);
        if (wantsCsv)
        {
            context.Response.Headers["X-Truncated"] = result.Truncated ? "true" : "false";
            return Results.Text(ToCsv(result), "text/csv; charset=utf-8", Encoding.UTF8);
        }

        return Results.Bytes(ToJson(result), "application/json; charset=utf-8");
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

    private static byte[] ToJson(QueryResult result)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("columns");
            foreach (var column in result.Columns)
            {
                writer.WriteStartObject();
                writer.WriteString("name", column.Name);
                writer.WriteString("type", column.Type);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("rows");
            foreach (var row in result.Rows)
            {
                writer.WriteStartArray();
                foreach (var value in row)
                {
                    WriteValue(writer, value);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndArray();
            writer.WriteNumber("rowCount", result.Rows.Count);
            writer.WriteBoolean("truncated", result.Truncated);
            writer.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static void WriteValue(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case decimal d:
                // Exact digits, as in the trade API: never through double.
                writer.WriteRawValue(d.ToString(CultureInfo.InvariantCulture));
                break;
            case double x when double.IsFinite(x):
                writer.WriteNumberValue(x);
                break;
            case float f when float.IsFinite(f):
                writer.WriteNumberValue(f);
                break;
            case sbyte or byte or short or ushort or int or uint or long or ulong or BigInteger:
                writer.WriteRawValue(Convert.ToString(value, CultureInfo.InvariantCulture)!);
                break;
            default:
                writer.WriteStringValue(Text(value));
                break;
        }
    }

    private static string Text(object value) => value switch
    {
        DateTime t => t.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + (t.Kind == DateTimeKind.Local ? "" : "Z"),
        DateTimeOffset t => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string ToCsv(QueryResult result)
    {
        var csv = new StringBuilder();
        csv.AppendJoin(',', result.Columns.Select(c => Quote(c.Name))).Append("\r\n");
        foreach (var row in result.Rows)
        {
            csv.AppendJoin(',', row.Select(v => v is null ? "" : Quote(v is bool b ? (b ? "true" : "false") : Text(v)))).Append("\r\n");
        }

        return csv.ToString();
    }

    /// <summary>RFC 4180: quote a field holding a comma, quote or line break, doubling inner quotes.</summary>
    private static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}

/// <summary>Bounds the SQL queries running at once (<c>Security:Query:MaxConcurrent</c>); one more is refused, not queued.</summary>
public sealed class QueryGate(int maxConcurrent)
{
    private readonly SemaphoreSlim _slots = new(maxConcurrent, maxConcurrent);

    public bool TryEnter() => _slots.Wait(0);

    public void Exit() => _slots.Release();
}
