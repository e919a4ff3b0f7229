using DuckDB.NET.Data;
using DuckDB.NET.Native;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Testing;
using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Migrations;
using TradeStore.Storage.Query;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// DuckDB's FATAL error invalidates the database instance: every later statement fails, and only reopening it helps. The
/// engine must not retry such a database forever (it stayed "Already in a transaction."): it fails for good, which stops
/// the server (exit 7), and the next start replays the journal log. The FATAL error here is DuckDB's own, made by its
/// <c>debug_checkpoint_abort</c> setting (a checkpoint that aborts before writing its header, as one that finds no
/// space does); the full-disk case runs in a real process in <c>DuckDbInvalidatedFaultTests</c>.
/// </summary>
public sealed class DuckDbInvalidatedTests
{
    private static CreateTrade Buy(string id) => new(id, "ACC1", "AAPL", Side.Buy, 100, 10);

    [Fact]
    public async Task Engine_DuckDbInvalidatedByAFailedCheckpoint_FailsForGoodExplainingAndTheNextStartHoldsEveryAcknowledgedTrade()
    {
        using var directory = new TempDirectory("invalidated");
        using var meters = new TestMeters();
        var logger = new FakeLogger<WriteEngine>();
        var acknowledged = new List<string>();
        DuckDbInvalidatedException failure;
        using (var database = DuckDbDatabase.Open(directory.DatabasePath))
        {
            DuckDbSchema.MigrateToLatest(database);
            var sandbox = new SqlSandbox(database);
            var check = new DuckDbHealthCheck(database);
            await using var engine = new WriteEngine(database, new StateIndex(), new EngineOptions(), meters.Factory, [], logger);
            engine.Start();
            for (var i = 0; i < 20; i++)
            {
                Assert.True((await engine.SubmitAsync(Buy($"before-{i}"), TestContext.Current.CancellationToken)).Succeeded);
                acknowledged.Add($"before-{i}");
            }

            Assert.True(engine.WaitApplied(engine.LastSeq, TimeSpan.FromSeconds(30)));
            using (var side = database.OpenConnection())
            using (var command = side.CreateCommand())
            {
                command.CommandText = "SET debug_checkpoint_abort = 'before_header'";
                command.ExecuteNonQuery();
            }

            // The WAL holds the applied events, so the checkpoint has work, and aborts: DuckDB invalidates the database.
            var fatal = Assert.Throws<DuckDBException>(database.Checkpoint);
            Assert.Equal(DuckDBErrorType.Fatal, fatal.ErrorType);

            // The engine finds it by itself (the test's own call reported nothing): the applier at its next commit, or the
            // trade_state flusher first. Meanwhile the journal log still acknowledges; then the engine stops.
            var refused = 0;
            for (var i = 0; i < 10_000 && refused == 0; i++)
            {
                var result = await engine.SubmitAsync(Buy($"after-{i}"), TestContext.Current.CancellationToken);
                if (result.Succeeded)
                {
                    acknowledged.Add($"after-{i}");
                }
                else
                {
                    Assert.Equal(CommandErrorKind.Unavailable, result.Error!.Kind);
                    Assert.Contains("DuckDB failed for good", result.Error.Message, StringComparison.Ordinal);
                    refused++;
                }
            }

            failure = Assert.IsType<DuckDbInvalidatedException>(await engine.Failure.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken));
            Assert.Same(failure, database.WriteHealth.Invalidated);
            Assert.Contains("Checkpoint aborted before header", failure.Message, StringComparison.Ordinal);

            var logged = Assert.Single(logger.Collector.GetSnapshot(), e => e.Id.Id == 2028);
            Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Critical, logged.Level);
            Assert.Contains("database has been invalidated", logged.Message, StringComparison.Ordinal);
            Assert.Contains("Checkpoint aborted before header", logged.Message, StringComparison.Ordinal);
            Assert.Contains("Nothing acknowledged is lost", logged.Message, StringComparison.Ordinal);
            Assert.Contains("replays", logged.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(logger.Collector.GetSnapshot(), e => e.Message.Contains("Already in a transaction", StringComparison.Ordinal) ||
                (e.Exception?.ToString().Contains("Already in a transaction", StringComparison.Ordinal) ?? false));

            // Every statement fails now, typed Fatal or (an error at prepare time, which DuckDB.NET gives no type) by its text.
            using (var later = database.OpenConnection())
            using (var command = later.CreateCommand())
            {
                command.CommandText = "SELECT count(*) FROM trade_events WHERE seq > $1";
                command.Parameters.Add(new DuckDBParameter(0L));
                Assert.True(DuckDbInvalidatedException.IsFatal(Assert.Throws<DuckDBException>(() => command.ExecuteScalar())));
            }

            // A query is refused as the server's storage failure, not as the caller's SQL.
            var query = Assert.Throws<QueryStorageFailureException>(() =>
                sandbox.Run("SELECT count(*) FROM trade_events", rows => rows.Read(), TestContext.Current.CancellationToken));
            Assert.Contains("database has been invalidated", query.Message, StringComparison.Ordinal);

            var readiness = await check.CheckHealthAsync(
                new HealthCheckContext { Registration = new HealthCheckRegistration("duckdb", check, HealthStatus.Unhealthy, null) },
                TestContext.Current.CancellationToken);
            Assert.Equal(HealthStatus.Unhealthy, readiness.Status);
            Assert.Contains("failed for good", readiness.Description, StringComparison.Ordinal);
        }

        // Reopened (what the restart does): the start replays the journal log into DuckDB.
        using (var reopened = DuckDbDatabase.Open(directory.DatabasePath))
        {
            await using var engine = new WriteEngine(reopened, new StateIndex(), new EngineOptions(), meters.Factory);
            engine.Start();
            Assert.True(engine.WaitApplied(engine.LastSeq, TimeSpan.FromSeconds(30)));
            Assert.Equal(acknowledged, DuckDbCatalog.JournalTradeIds(reopened));
            Assert.Null(reopened.WriteHealth.Invalidated);
        }
    }

    [Fact]
    public void ReportIfInvalidated_CallersSqlErrorOrIoError_NotFatalAndNothingReported()
    {
        using var directory = new TempDirectory("fatal-kinds");
        using var database = DuckDbDatabase.Open(directory.DatabasePath);
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();

        // A DuckDB error that is the caller's: not fatal, and nothing is reported.
        command.CommandText = "SELECT * FROM no_such_table";
        var catalog = Assert.Throws<DuckDBException>(() => command.ExecuteNonQuery());
        Assert.False(DuckDbInvalidatedException.IsFatal(catalog));
        Assert.False(database.WriteHealth.ReportIfInvalidated(catalog));
        Assert.False(database.WriteHealth.ReportIfInvalidated(new IOException("No space left on device")));
        Assert.Null(database.WriteHealth.Invalidated);
        Assert.False(database.WriteHealth.WhenInvalidated.IsCompleted);
    }
}
