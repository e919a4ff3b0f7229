using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace TradeStore.Server.Health;

/// <summary>
/// Writes a health report as <c>{"status": …, "dependencies": {"duckdb": {…}, "redis": {…}, "clickhouse": {…}}}</c>.
/// A dependency that is not configured is listed as <c>disabled</c>, so a reader can tell "off" from "missing"; a cluster
/// node adds <c>"cluster"</c> (standalone answers keep their shape).
/// By design each dependency's <c>description</c> (file paths, server addresses, the cause of a failure) is written
/// only for an authenticated caller (any role); a caller without a key, or whose key does not authenticate, gets the
/// same statuses and status code without it, so probes need no key and reveal nothing about the deployment.
/// </summary>
public static class HealthResponseWriter
{
    /// <summary>Every dependency TradeStore knows, in the order they are listed.</summary>
    public static readonly IReadOnlyList<string> Dependencies = [DependencyNames.DuckDb, DependencyNames.Redis, DependencyNames.ClickHouse];

    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        var described = context.User.Identity?.IsAuthenticated == true;
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var writer = new Utf8JsonWriter(context.Response.Body, new JsonWriterOptions { Indented = true });
        writer.WriteStartObject();
        writer.WriteString("status", Name(report.Status));
        writer.WriteNumber("durationMs", Math.Round(report.TotalDuration.TotalMilliseconds, 2));
        writer.WriteStartObject("dependencies");
        foreach (var dependency in report.Entries.ContainsKey(DependencyNames.Cluster) ? [.. Dependencies, DependencyNames.Cluster] : Dependencies)
        {
            writer.WriteStartObject(dependency);
            if (report.Entries.TryGetValue(dependency, out var entry))
            {
                writer.WriteString("status", Name(entry.Status));
                if (described)
                {
                    writer.WriteString("description", entry.Description);
                }

                writer.WriteNumber("durationMs", Math.Round(entry.Duration.TotalMilliseconds, 2));
            }
            else
            {
                writer.WriteString("status", "disabled");
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    public static string Name(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "healthy",
        HealthStatus.Degraded => "degraded",
        _ => "unhealthy",
    };
}

/// <summary>Names of the dependencies in health reports and metrics.</summary>
public static class DependencyNames
{
    public const string DuckDb = "duckdb";
    public const string Redis = "redis";
    public const string ClickHouse = "clickhouse";

    /// <summary>A cluster node's leadership (only when <c>Cluster:Etcd</c> is set).</summary>
    public const string Cluster = "cluster";
}
