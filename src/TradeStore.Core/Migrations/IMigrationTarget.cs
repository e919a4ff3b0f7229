namespace TradeStore.Core.Migrations;

/// <summary>
/// A store that migrations run against (DuckDB, ClickHouse). The runner decides what to run; the target only
/// reads its bookkeeping and applies or reverts one migration at a time together with its bookkeeping row.
/// </summary>
public interface IMigrationTarget
{
    /// <summary>The store as an operator knows it, for example <c>duckdb /var/lib/tradestore/tradestore.duckdb</c>.</summary>
    string Description { get; }

    /// <summary>
    /// What an operator should know when a migration fails half-way: whether it was rolled back (DuckDB) or
    /// will be completed by running it again (ClickHouse). <c>{0}</c> is replaced by the version the store was at
    /// before the failed migration.
    /// </summary>
    string FailureNote { get; }

    /// <summary>The applied migrations in version order; empty when the bookkeeping table does not exist. Creates nothing.</summary>
    Task<IReadOnlyList<AppliedMigration>> ReadAppliedAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Tables that <paramref name="applied"/> (the applied migrations, in version order) created and that do not exist:
    /// a store whose DDL is not transactional can lose one to a rollback that stopped half-way, or to a hand-made
    /// <c>DROP</c>, while its bookkeeping still records the version. By default none (a store whose migrations are
    /// transactional). Reads only.
    /// </summary>
    Task<IReadOnlyList<string>> MissingTablesAsync(IReadOnlyList<Migration> applied, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([]);

    /// <summary>Creates the bookkeeping table (and for ClickHouse the database) when absent. Idempotent.</summary>
    Task PrepareAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Called by the runner before the first step of a plan (and before <see cref="PrepareAsync"/>), so that a target
    /// refuses a plan it could not finish before anything changes: a refusal at a later step would leave the store
    /// between versions. By default every plan is accepted.
    /// </summary>
    /// <exception cref="MigrationException">The plan must not run; nothing was changed.</exception>
    Task CheckPlanAsync(MigrationPlan plan, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs the up script and records the migration as applied; returns how long it took and what else it did.</summary>
    Task<MigrationStepRun> ApplyAsync(Migration migration, CancellationToken cancellationToken);

    /// <summary>Runs the down script and removes the migration's record; returns how long it took and what else it did.</summary>
    Task<MigrationStepRun> RevertAsync(Migration migration, CancellationToken cancellationToken);
}
