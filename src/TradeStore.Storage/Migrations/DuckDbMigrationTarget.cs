using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using TradeStore.Core.Migrations;

namespace TradeStore.Storage.Migrations;

/// <summary>
/// Migrations on DuckDB. Each migration runs in one transaction together with its <c>schema_migrations</c> row,
/// so a failing script leaves the schema and the recorded version exactly as they were (DuckDB DDL is transactional).
/// </summary>
internal sealed class DuckDbMigrationTarget(DuckDbDatabase database) : IMigrationTarget
{
    /// <summary>The bookkeeping table; created by <see cref="PrepareAsync"/>, never dropped by a migration.</summary>
    public const string BookkeepingDdl = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version     INTEGER   NOT NULL PRIMARY KEY CHECK (version >= 1),
            name        VARCHAR   NOT NULL,
            checksum    VARCHAR   NOT NULL CHECK (length(checksum) = 64),
            applied_at  TIMESTAMP NOT NULL,
            duration_ms DOUBLE    NOT NULL CHECK (duration_ms >= 0)
        )
        """;

    public string Description => $"duckdb {database.Path}";

    public string FailureNote => "Its transaction was rolled back: the database is unchanged at version {0}.";

    public Task<IReadOnlyList<AppliedMigration>> ReadAppliedAsync(CancellationToken cancellationToken)
    {
        using var connection = database.OpenConnection();
        using (var probe = connection.CreateCommand())
        {
            probe.CommandText = "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 'schema_migrations'";
            if (Convert.ToInt64(probe.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
            {
                return Task.FromResult<IReadOnlyList<AppliedMigration>>([]);
            }
        }

        using var command = connection.CreateCommand();
        command.CommandText = "SELECT version, name, checksum, applied_at, duration_ms FROM schema_migrations ORDER BY version";
        using var reader = command.ExecuteReader();
        var applied = new List<AppliedMigration>();
        while (reader.Read())
        {
            applied.Add(new AppliedMigration(
                reader.GetInt32(0),
                reader.GetString(1),
                reader.GetString(2),
                new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(3), DateTimeKind.Utc)),
                TimeSpan.FromMilliseconds(reader.GetDouble(4))));
        }

        return Task.FromResult<IReadOnlyList<AppliedMigration>>(applied);
    }

    public Task PrepareAsync(CancellationToken cancellationToken)
    {
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = BookkeepingDdl;
        command.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Refuses, before any step, a rollback that <see cref="JournalLogRollback.RequireSafeRevert"/> would stop part-way:
    /// one below <see cref="JournalLogRollback.LogVersion"/> while the log holds events DuckDB lacks, or one that drops
    /// <c>trade_events</c> while the log is in place (<see cref="JournalLogRollback.RequireSafePlan"/>).
    /// </summary>
    public Task CheckPlanAsync(MigrationPlan plan, CancellationToken cancellationToken)
    {
        JournalLogRollback.RequireSafePlan(database, plan);
        return Task.CompletedTask;
    }

    public Task<MigrationStepRun> ApplyAsync(Migration migration, CancellationToken cancellationToken) =>
        Task.FromResult(new MigrationStepRun(RunInTransaction(migration.UpSql, migration, record: true)));

    /// <summary>
    /// Reverts one migration, after <see cref="JournalLogRollback.RequireSafeRevert"/>: the down scripts know nothing of the
    /// journal log beside the database, so a rollback that would lose or resurrect its events is refused here, whoever runs it.
    /// </summary>
    public Task<MigrationStepRun> RevertAsync(Migration migration, CancellationToken cancellationToken)
    {
        JournalLogRollback.RequireSafeRevert(database, migration);
        return Task.FromResult(new MigrationStepRun(RunInTransaction(migration.DownSql, migration, record: false)));
    }

    private TimeSpan RunInTransaction(string script, Migration migration, bool record)
    {
        using var connection = database.OpenConnection();
        using var transaction = connection.BeginTransaction();
        var stopwatch = Stopwatch.StartNew();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = script;
            command.ExecuteNonQuery();
        }

        var duration = stopwatch.Elapsed;
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            if (record)
            {
                command.CommandText = "INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms) VALUES ($version, $name, $checksum, $at, $ms)";
                command.Parameters.Add(new DuckDBParameter("name", migration.Name));
                command.Parameters.Add(new DuckDBParameter("checksum", migration.Checksum));
                command.Parameters.Add(new DuckDBParameter("at", DateTime.UtcNow));
                command.Parameters.Add(new DuckDBParameter("ms", duration.TotalMilliseconds));
            }
            else
            {
                command.CommandText = "DELETE FROM schema_migrations WHERE version = $version";
            }

            command.Parameters.Add(new DuckDBParameter("version", migration.Version));
            command.ExecuteNonQuery();
        }

        // Disposing an uncommitted transaction rolls it back: a throw above leaves nothing behind.
        transaction.Commit();
        return duration;
    }
}
