using TradeStore.Core.Migrations;

namespace TradeStore.Storage.Migrations;

/// <summary>
/// The DuckDB schema this binary knows (the scripts embedded as <c>TradeStore.Storage.Migrations.NNNN_name.{up,down}.sql</c>)
/// and the entry points that bring a database to it or check that it is there.
/// </summary>
public static class DuckDbSchema
{
    /// <summary>The embedded DuckDB migrations.</summary>
    public static MigrationSet Migrations { get; } = MigrationSet.FromEmbeddedResources(typeof(DuckDbSchema).Assembly, "TradeStore.Storage.Migrations.");

    /// <summary>A runner for <paramref name="database"/>; <paramref name="migrations"/> defaults to the embedded set.</summary>
    public static MigrationRunner CreateRunner(DuckDbDatabase database, MigrationSet? migrations = null) =>
        new(migrations ?? Migrations, new DuckDbMigrationTarget(database));

    /// <summary>
    /// Applies every pending migration, each in its own transaction, and returns what ran (empty when already current).
    /// </summary>
    /// <exception cref="MigrationException">The database is newer than this binary, has drifted, or a migration failed (nothing of it applied).</exception>
    public static IReadOnlyList<MigrationStepResult> MigrateToLatest(DuckDbDatabase database) =>
        // The DuckDB target completes synchronously, so blocking here cannot deadlock.
        CreateRunner(database).UpAsync().GetAwaiter().GetResult();

    /// <summary>Checks, without changing anything, that the database is exactly at this binary's latest version.</summary>
    /// <param name="advice">Why the caller does not migrate and what to do, for the message when migrations are pending.</param>
    /// <exception cref="MigrationException">Migrations are pending, the database is newer, or it has drifted.</exception>
    public static void RequireLatest(DuckDbDatabase database, PendingMigrationAdvice advice) =>
        CreateRunner(database).RequireCurrentAsync(advice).GetAwaiter().GetResult();
}
