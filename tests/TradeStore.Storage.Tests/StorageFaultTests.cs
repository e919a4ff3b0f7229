using System.Diagnostics;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>Faults of the storage layer found by the independent fault run (issue 18), on real files and a real full disk.</summary>
[Collection(nameof(SmallDiskCollection))]
public sealed class StorageFaultTests
{
    private static CreateTrade Buy(string id) => new(id, "ACC1", "AAPL", Side.Buy, 100, 10);

    [Fact]
    public async Task Commit_DiskFull_ReadinessUnhealthyWithCauseLoggedOnceAndHealthyAgainWhenSpaceReturns()
    {
        using var disk = SmallDisk.Mount(megabytes: 32);
        var logger = new FakeLogger<WriteEngine>();
        using var database = DuckDbDatabase.Open(disk.DatabasePath);
        DuckDbSchema.MigrateToLatest(database);
        var checkLogger = new FakeLogger<DuckDbHealthCheck>();
        var check = new DuckDbHealthCheck(database, checkLogger);
        var acknowledged = new List<string>();
        using var meters = new TestMeters();
        await using (var engine = new WriteEngine(database, new StateIndex(), new EngineOptions(), meters.Factory, [], logger))
        {
            engine.Start();
            Assert.True((await engine.SubmitAsync(Buy("before"), TestContext.Current.CancellationToken)).Succeeded);
            acknowledged.Add("before");
            Assert.Equal(HealthStatus.Healthy, (await CheckAsync(check)).Status);

            disk.Fill();
            var failed = 0;
            for (var i = 0; i < 500 && failed < 30; i++)
            {
                var result = await engine.SubmitAsync(Buy($"full-{i}"), TestContext.Current.CancellationToken);
                if (result.Succeeded)
                {
                    acknowledged.Add($"full-{i}");
                }
                else
                {
                    Assert.Equal(CommandErrorKind.StorageFailure, result.Error!.Kind);
                    Assert.Contains("the server's disk is full", result.Error.Message, StringComparison.Ordinal);
                    failed++;
                }
            }

            Assert.Equal(30, failed);
            var whileFull = await CheckAsync(check);
            Assert.Equal(HealthStatus.Unhealthy, whileFull.Status);
            Assert.Contains("commits to", whileFull.Description, StringComparison.Ordinal);
            Assert.Contains("space", whileFull.Description, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(HealthStatus.Unhealthy, (await CheckAsync(check)).Status);
            // One stack trace for the whole run, not one per failed batch.
            Assert.Single(logger.Collector.GetSnapshot(), e => e.Id.Id == 2003);

            disk.Empty();
            // Back without any client write: the check's own probe commit succeeds.
            Assert.Equal(HealthStatus.Healthy, (await CheckAsync(check)).Status);
            Assert.Contains(checkLogger.Collector.GetSnapshot(), e => e.Id.Id == 2012);
            Assert.True((await engine.SubmitAsync(Buy("after"), TestContext.Current.CancellationToken)).Succeeded);
            acknowledged.Add("after");
        }

        Assert.Equal(acknowledged, DuckDbCatalog.JournalTradeIds(database));
    }

    [Fact]
    public void CommitFailed_ManyWithinOneInterval_LoggedOnceThenSummarisedWithCount()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var health = new StorageWriteHealth { Time = time, LogInterval = TimeSpan.FromSeconds(10) };
        var logger = new FakeLogger<WriteEngine>();
        var failure = new IOException("No space left on device");

        for (var i = 0; i < 100; i++)
        {
            health.CommitFailed(logger, failure, 1, 1, i + 1, i + 1);
            time.Advance(TimeSpan.FromMilliseconds(150));
        }

        // 15 s of failures: the first with its exception, one summary after 10 s counting the failures since.
        Assert.Single(logger.Collector.GetSnapshot(), e => e.Id.Id == 2003);
        var summary = Assert.Single(logger.Collector.GetSnapshot(), e => e.Id.Id == 2011);
        Assert.Contains("67 more batches failed", summary.Message, StringComparison.Ordinal);
        Assert.Contains("No space left on device", summary.Message, StringComparison.Ordinal);
        Assert.Equal(100, health.Failure!.FailedBatches);

        health.CommitSucceeded(logger);

        Assert.Null(health.Failure);
        Assert.Contains("after 100 failed batches", Assert.Single(logger.Collector.GetSnapshot(), e => e.Id.Id == 2012).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopAsync_CheckpointFails_LogsNotCheckpointedAndNeverClaimsACheckpoint()
    {
        var logger = new FakeLogger<WriteEngine>();
        await using var harness = EngineHarness.Start(new EngineOptions(), logger);
        Assert.True((await harness.Submit(Buy("S1"))).Succeeded);
        using var blocker = harness.Database.OpenConnection();
        using (var create = blocker.CreateCommand())
        {
            create.CommandText = "CREATE TABLE blocker (x INTEGER)";
            create.ExecuteNonQuery();
        }

        // Another connection's open write transaction: DuckDB refuses the checkpoint at shutdown.
        using var transaction = blocker.BeginTransaction();
        using (var insert = blocker.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO blocker VALUES (1)";
            insert.ExecuteNonQuery();
        }

        await harness.Engine.StopAsync(TestContext.Current.CancellationToken);
        transaction.Rollback();

        Assert.Contains(logger.Collector.GetSnapshot(), e => e.Id.Id == 2005);
        Assert.DoesNotContain(logger.Collector.GetSnapshot(), e => e.Id.Id == 2002);
        var stopped = Assert.Single(logger.Collector.GetSnapshot(), e => e.Id.Id == 2010);
        Assert.Contains("NOT checkpointed", stopped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_FileHeldByAnotherProcessOnAFullDisk_SaysHeldNotDiskFull()
    {
        using var disk = SmallDisk.Mount(megabytes: 8);
        using (DuckDbDatabase.Open(disk.DatabasePath))
        {
            // The file exists; the server holding it is another process (below).
        }

        // The live WAL of that server, larger than what the full disk has left: the copy a start makes of a crash's WAL fails.
        await File.WriteAllBytesAsync(DatabaseFiles.WalPath(disk.DatabasePath), new byte[1024 * 1024], TestContext.Current.CancellationToken);
        disk.Fill();
        using var holder = Process.Start(new ProcessStartInfo("python3",
            ["-c", "import fcntl,sys,time; f=open(sys.argv[1],'r+'); fcntl.lockf(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(120)", disk.DatabasePath])
        {
            RedirectStandardOutput = true,
        })!;
        try
        {
            Assert.Equal("held", await holder.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken));

            var refused = Assert.Throws<DatabaseLockedException>(() => DuckDbDatabase.Open(disk.DatabasePath));

            Assert.Equal(holder.Id, refused.HolderPid);
            Assert.Empty(Directory.EnumerateFiles(Path.Combine(disk.Path, DatabaseFiles.WalBackupFolder)));
        }
        finally
        {
            holder.Kill();
            await holder.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
    }

    private static Task<HealthCheckResult> CheckAsync(DuckDbHealthCheck check) =>
        check.CheckHealthAsync(new HealthCheckContext { Registration = new HealthCheckRegistration("duckdb", check, HealthStatus.Unhealthy, null) },
            TestContext.Current.CancellationToken);
}

/// <summary>Tests that mount a small disk run one at a time.</summary>
[CollectionDefinition(nameof(SmallDiskCollection), DisableParallelization = true)]
public sealed class SmallDiskCollection;
