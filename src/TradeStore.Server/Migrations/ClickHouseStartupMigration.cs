using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TradeStore.ClickHouse;
using TradeStore.ClickHouse.Migrations;
using TradeStore.Core.Migrations;

namespace TradeStore.Server.Migrations;

/// <summary>
/// Asks the <see cref="ClickHouseSchemaMigrator"/> (the one owner of the schema) to bring the ClickHouse schema up
/// to date once, in the background, when the service starts. By design it never
/// blocks or fails start-up: ClickHouse is derived analytics and may be down; then it logs and the sync retries.
/// With <c>Storage:AutoMigrate</c> off it only checks and logs what is pending.
/// </summary>
internal sealed class ClickHouseStartupMigration(ClickHouseSchemaMigrator migrator, ILogger<ClickHouseStartupMigration> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var runner = migrator.Runner;
        try
        {
            foreach (var step in await migrator.EnsureCurrentAsync(stoppingToken))
            {
                Log.MigrationApplied(logger, step.Migration.Id, runner.Target.Description, step.Duration.TotalMilliseconds);
                if (step.Note is { } note)
                {
                    Log.MigrationNote(logger, runner.Target.Description, note);
                }
            }

            Log.SchemaCurrent(logger, runner.Target.Description, runner.Migrations.LatestVersion);
        }
        catch (MigrationException ex) when (ex.Kind is MigrationErrorKind.Drift or MigrationErrorKind.DatabaseNewer)
        {
            Log.ClickHouseSchemaRefused(logger, ex.Message);
        }
        catch (Exception ex) when (ex is MigrationException or ClickHouseException or HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
        {
            Log.ClickHouseMigrationDeferred(logger, runner.Target.Description, ex.Message);
        }
    }
}
