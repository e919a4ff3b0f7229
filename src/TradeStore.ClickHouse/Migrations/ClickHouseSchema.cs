using TradeStore.Core.Migrations;

namespace TradeStore.ClickHouse.Migrations;

/// <summary>
/// The ClickHouse schema this binary knows (scripts embedded as <c>TradeStore.ClickHouse.Migrations.NNNN_name.{up,down}.sql</c>)
/// and the entry point that brings a ClickHouse database to it.
/// </summary>
public static class ClickHouseSchema
{
    /// <summary>The embedded ClickHouse migrations.</summary>
    public static MigrationSet Migrations { get; } = MigrationSet.FromEmbeddedResources(typeof(ClickHouseSchema).Assembly, "TradeStore.ClickHouse.Migrations.");

    /// <summary>A runner for <paramref name="database"/>; <paramref name="migrations"/> defaults to the embedded set.</summary>
    public static MigrationRunner CreateRunner(ClickHouseClient client, string database, MigrationSet? migrations = null) =>
        new(migrations ?? Migrations, new ClickHouseMigrationTarget(client, database));

    /// <summary>
    /// Creates the database when absent and applies every pending migration; a second call is a no-op.
    /// Returns what ran (empty when already current).
    /// </summary>
    /// <exception cref="MigrationException">The database is newer than this binary, has drifted, or a statement failed (run again to complete it).</exception>
    public static async Task<IReadOnlyList<MigrationStepResult>> MigrateToLatestAsync(ClickHouseClient client, string database, CancellationToken cancellationToken) =>
        await CreateRunner(client, database).UpAsync(cancellationToken: cancellationToken);

    /// <summary>Splits a script on <c>;</c> after dropping <c>--</c> comment lines (the scripts keep no <c>;</c> inside literals).</summary>
    public static IReadOnlyList<string> SplitStatements(string script)
    {
        var lines = script.Split('\n').Where(line => !line.TrimStart().StartsWith("--", StringComparison.Ordinal));
        return string.Join('\n', lines).Split(';').Select(s => s.Trim()).Where(s => s.Length > 0).ToList();
    }
}
