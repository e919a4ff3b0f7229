using System.Reflection;

namespace TradeStore.ClickHouse.Migrations;

/// <summary>
/// Brings the ClickHouse database to the newest schema this binary knows. Interim entry point while the
/// versioned migration runner (issue 3) is built: creates the database and runs <c>0001_initial.up.sql</c>,
/// whose statements are all idempotent.
/// </summary>
public static class ClickHouseSchema
{
    public static async Task MigrateToLatestAsync(ClickHouseClient client, string database, CancellationToken cancellationToken)
    {
        await client.ExecuteAsync($"CREATE DATABASE IF NOT EXISTS {database}", cancellationToken);
        foreach (var statement in SplitStatements(ReadScript("0001_initial.up.sql")))
        {
            await client.ExecuteAsync(statement, cancellationToken, database);
        }
    }

    /// <summary>Splits a script on <c>;</c> after dropping <c>--</c> comment lines (the scripts keep no <c>;</c> inside literals).</summary>
    public static IReadOnlyList<string> SplitStatements(string script)
    {
        var lines = script.Split('\n').Where(line => !line.TrimStart().StartsWith("--", StringComparison.Ordinal));
        return string.Join('\n', lines).Split(';').Select(s => s.Trim()).Where(s => s.Length > 0).ToList();
    }

    internal static string ReadScript(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"TradeStore.ClickHouse.Migrations.{name}")
            ?? throw new InvalidOperationException($"Migration script {name} is not embedded.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
