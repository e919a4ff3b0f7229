namespace TradeStore.Core.Migrations;

/// <summary>
/// What a caller that checks the schema without migrating tells an operator when migrations are pending: why it left
/// them alone, and what to do. By design the caller's own words: one fixed message said "Storage:AutoMigrate is false"
/// also from <c>verify</c>, which never migrates, when AutoMigrate was true.
/// </summary>
/// <param name="Reason">Why the caller did not apply the pending migrations.</param>
/// <param name="Remedy">What the operator does about it.</param>
public sealed record PendingMigrationAdvice(string Reason, string Remedy)
{
    /// <summary><c>serve</c> and the ClickHouse sync (start-up and the sync check the schema) with <c>Storage:AutoMigrate</c> off.</summary>
    public static PendingMigrationAdvice AutoMigrateOff { get; } = new(
        "Storage:AutoMigrate is false, so they are not applied automatically",
        "Run 'tradestore migrate up' (after a backup), or set Storage:AutoMigrate=true.");

    /// <summary>A command that only reads (<c>tradestore verify</c>): it never migrates, whatever <c>Storage:AutoMigrate</c> says.</summary>
    /// <param name="command">The command, as typed after <c>tradestore</c>.</param>
    public static PendingMigrationAdvice ReadOnlyCommand(string command) => new(
        $"'tradestore {command}' only reads and never applies them",
        $"Run 'tradestore migrate up' (after a backup), or start 'tradestore serve' once with Storage:AutoMigrate=true (the default), then run 'tradestore {command}' again.");

    /// <summary>
    /// <c>tradestore recover --from duckdb</c>: it rebuilds the journal log from the database as that is; below this
    /// binary's schema the tables it reads may not exist (a database after <c>migrate down</c>).
    /// </summary>
    public static PendingMigrationAdvice RecoverFromDuckDb { get; } = new(
        "'tradestore recover --from duckdb' reads the database as it is and never applies them",
        "Run 'tradestore migrate up' (after a backup), then 'tradestore recover --from duckdb' again.");
}
