using Microsoft.Extensions.Options;
using TradeStore.Core.Migrations;
using TradeStore.Core.Options;

namespace TradeStore.ClickHouse.Migrations;

/// <summary>
/// The one owner of the ClickHouse schema in a process: the start-up migration and the sync daemon both ask it,
/// and it migrates once (concurrent callers wait for the one run; after a success later calls return at once).
/// With <c>Storage:AutoMigrate</c> off it only checks that the schema is current.
/// </summary>
public sealed class ClickHouseSchemaMigrator
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _current;

    public ClickHouseSchemaMigrator(ClickHouseClient client, IOptions<ClickHouseOptions> clickHouse, IOptions<StorageOptions> storage)
    {
        Runner = ClickHouseSchema.CreateRunner(client, clickHouse.Value.Database);
        AutoMigrate = storage.Value.AutoMigrate;
    }

    /// <summary>The runner over the configured database (its target describes it for the log).</summary>
    public MigrationRunner Runner { get; }

    /// <summary>Whether pending migrations are applied (<c>Storage:AutoMigrate</c>) or only reported.</summary>
    public bool AutoMigrate { get; }

    /// <summary>Whether the schema is known to be current in this process.</summary>
    public bool IsCurrent => _current;

    /// <summary>
    /// The schema was current but its tables went away (a dropped database, a new empty server at the same URL): the
    /// next <see cref="EnsureCurrentAsync"/> looks again, and with AutoMigrate creates them.
    /// </summary>
    public void Forget() => _current = false;

    /// <summary>
    /// Brings the schema up to date (AutoMigrate on) or requires it to be current (off). Returns the migrations this
    /// call applied: empty when the schema was already current, or another caller applied them.
    /// </summary>
    /// <exception cref="MigrationException">The schema is newer, has drifted, migrations are pending with AutoMigrate off, or a statement failed.</exception>
    public async Task<IReadOnlyList<MigrationStepResult>> EnsureCurrentAsync(CancellationToken cancellationToken)
    {
        if (_current)
        {
            return [];
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_current)
            {
                return [];
            }

            IReadOnlyList<MigrationStepResult> applied = [];
            if (AutoMigrate)
            {
                applied = await Runner.UpAsync(cancellationToken: cancellationToken);
            }
            else
            {
                await Runner.RequireCurrentAsync(PendingMigrationAdvice.AutoMigrateOff, cancellationToken);
            }

            _current = true;
            return applied;
        }
        finally
        {
            _gate.Release();
        }
    }
}
