using TradeStore.Core.Migrations;
using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// The DuckDB schema version of the journal log (0003_journal_log), on real files: a binary from before the log refuses
/// a database that has it, and rolling it back neither loses acknowledged events that only the log holds nor leaves a
/// log behind that the next start would replay into dropped tables (exploratory test ex17-up, defects 2 and 7).
/// </summary>
public sealed class JournalLogRollbackTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 12, 8, 9, 30, 0, TimeSpan.Zero);
    private readonly TempDirectory _work = new("log-rollback");
    private readonly DuckDbDatabase _database;

    public JournalLogRollbackTests()
    {
        _database = DuckDbDatabase.Open(_work.DatabasePath);
        DuckDbSchema.MigrateToLatest(_database);
    }

    public void Dispose()
    {
        _database.Dispose();
        _work.Dispose();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string LogPath => JournalLog.DirectoryFor(_database.Path);

    private int CurrentVersion() => DuckDbSchema.CreateRunner(_database).StatusAsync(Ct).GetAwaiter().GetResult().CurrentVersion;

    [Fact]
    public void Migrations_Latest_IsTheJournalLogVersion()
    {
        var latest = DuckDbSchema.Migrations.Migrations[^1];

        Assert.Equal(JournalLogRollback.LogVersion, latest.Version);
        Assert.Equal("0003_journal_log", latest.Id);
        Assert.Equal(JournalLogRollback.LogVersion, CurrentVersion());
    }

    /// <summary>What a binary from before the log (it knows versions 1 and 2) makes of a database migrated by this one.</summary>
    [Fact]
    public async Task Status_BinaryFromBeforeTheLog_RefusesTheDatabaseAsNewer()
    {
        var preLog = MigrationSet.From(DuckDbSchema.Migrations.Migrations.Where(m => m.Version < JournalLogRollback.LogVersion));

        var status = await DuckDbSchema.CreateRunner(_database, preLog).StatusAsync(Ct);

        var ex = Assert.Throws<MigrationException>(status.ThrowIfUnsafe);
        Assert.Equal(MigrationErrorKind.DatabaseNewer, ex.Kind);
        Assert.Contains("newer than this binary knows (version 2)", ex.Message);
        Assert.Contains("0003_journal_log", ex.Message);
    }

    [Fact]
    public async Task DownTo2_LogHoldsEventsDuckDbLacks_RefusedNamingTheSeqsAndNothingRolledBack()
    {
        var history = Events(1, 8);
        Write(history.Take(5));
        WriteLog(history);
        var before = DuckDbCatalog.Dump(_database);

        var plan = await DuckDbSchema.CreateRunner(_database).PlanDownAsync(2, Ct);
        var assessed = JournalLogRollback.Assess(_database, plan);
        var ex = await Assert.ThrowsAsync<MigrationException>(() => DuckDbSchema.CreateRunner(_database).DownAsync(2, cancellationToken: Ct));

        Assert.NotNull(assessed.Refusal);
        Assert.Equal(MigrationErrorKind.WouldLoseData, Assert.Throws<MigrationException>(assessed.ThrowIfRefused).Kind);
        Assert.Equal(MigrationErrorKind.WouldLoseData, ex.Kind);
        Assert.Contains("seq 6..8", ex.Message);
        Assert.Contains("Start 'tradestore serve'", ex.Message);
        Assert.Equal(JournalLogRollback.LogVersion, CurrentVersion());
        Assert.Equal(before, DuckDbCatalog.Dump(_database));
    }

    [Fact]
    public async Task DownTo2_LogApplied_RevertsAndSaysTheOlderBinaryIgnoresTheLog()
    {
        var history = Events(1, 5);
        Write(history);
        WriteLog(history);

        var plan = await DuckDbSchema.CreateRunner(_database).PlanDownAsync(2, Ct);
        var assessed = JournalLogRollback.Assess(_database, plan);
        var reverted = await DuckDbSchema.CreateRunner(_database).DownAsync(2, cancellationToken: Ct);

        Assert.Null(assessed.Refusal);
        Assert.False(assessed.SetsLogAside);
        Assert.Equal(2, assessed.Notes.Count);
        Assert.Contains("ignores it", assessed.Notes[0]);
        Assert.Contains("holds no sealed segment now", assessed.Notes[0]);
        Assert.Contains("do not recognise the idempotency keys", assessed.Notes[1]);
        Assert.Equal(["0003_journal_log"], reverted.Select(s => s.Migration.Id));
        Assert.Equal(2, CurrentVersion());
        Assert.True(Directory.Exists(LogPath));
    }

    /// <summary>
    /// Builds of 2026-11-30 to 2026-12-02 06:21 sit at schema version 2 but read the journal log, and those before 05:27 (46504cc)
    /// know no segment seal: one
    /// left at rest stops their start with exit 5 as "damaged" (8b6ee93's JournalLog.Scan: non-zero bytes after the last record of a segment that is not the last). The rollback used to
    /// say every version-2 binary ignores the log; it now counts the sealed segments and says to recycle them first.
    /// </summary>
    [Fact]
    public async Task DownTo2_LogWithSealedSegments_SaysBuildsThatReadTheLogCallThemDamaged()
    {
        var history = Events(1, 60);
        Write(history);
        using (var log = JournalLog.Open(LogPath, new JournalLogOptions { SegmentBytes = 4096 }))
        {
            log.Begin(1);
            foreach (var chunk in history.Chunk(3))
            {
                log.Append([.. chunk.Select(e => LogRecord.Create(e.Seq, 0, EventCodec.Encode(e)))]);
            }
        }

        var segments = Directory.GetFiles(LogPath, "*.log").Length;
        var plan = await DuckDbSchema.CreateRunner(_database).PlanDownAsync(2, Ct);
        var assessed = JournalLogRollback.Assess(_database, plan);

        Assert.True(segments >= 3, $"the log rolled over into {segments} segment(s)");
        Assert.Null(assessed.Refusal);
        Assert.Contains("those before 2026-12-02 05:27 except sealed segments", assessed.Notes[0]);
        Assert.Contains($"it holds {segments - 1} sealed segment(s) now, which those builds call damaged (exit 5)", assessed.Notes[0]);
        Assert.Contains("start 'tradestore serve' once and stop it cleanly", assessed.Notes[0]);
    }

    [Fact]
    public async Task DownTo2_NoLog_RevertsWithoutNotes()
    {
        Write(Events(1, 3));

        var plan = await DuckDbSchema.CreateRunner(_database).PlanDownAsync(2, Ct);
        var assessed = JournalLogRollback.Assess(_database, plan);
        await DuckDbSchema.CreateRunner(_database).DownAsync(2, cancellationToken: Ct);

        Assert.Null(assessed.Refusal);
        Assert.Empty(assessed.Notes);
        Assert.Equal(2, CurrentVersion());
    }

    [Fact]
    public async Task DownTo0_LogInPlace_RunnerRefusesBeforeAnyStepUntilTheLogIsSetAside()
    {
        var history = Events(1, 4);
        Write(history);
        WriteLog(history);
        var runner = DuckDbSchema.CreateRunner(_database);
        var assessed = JournalLogRollback.Assess(_database, await runner.PlanDownAsync(0, Ct));
        Assert.True(assessed.SetsLogAside);
        Assert.Null(assessed.Refusal);

        var tables = DuckDbCatalog.Tables(_database);

        var refused = await Assert.ThrowsAsync<MigrationException>(() => runner.DownAsync(0, cancellationToken: Ct));
        Assert.Equal(MigrationErrorKind.WouldLoseData, refused.Kind);
        Assert.Contains("drops trade_events", refused.Message);
        Assert.Contains("SetLogAside", refused.Message);
        Assert.Contains("Nothing was rolled back", refused.Message);
        // Refused before the first step: the runner once reverted versions 3 and 2 and stopped at 1, between versions.
        Assert.Equal(JournalLogRollback.LogVersion, CurrentVersion());
        Assert.Equal(tables, DuckDbCatalog.Tables(_database));

        var aside = assessed.SetLogAside();
        await runner.DownAsync(0, cancellationToken: Ct);

        Assert.False(Directory.Exists(LogPath));
        Assert.StartsWith(JournalLogRollback.SetAsidePrefix, Path.GetFileName(aside));
        Assert.Equal(Path.GetDirectoryName(LogPath), Path.GetDirectoryName(aside));
        using var kept = JournalLog.Open(aside, new JournalLogOptions());
        Assert.Equal(4, kept.LastSeq);
        Assert.Equal(["schema_migrations"], DuckDbCatalog.Tables(_database));
    }

    private void Write(IEnumerable<TradeEvent> events)
    {
        using var writer = new JournalBatchWriter(_database);
        writer.Write([.. events]);
    }

    private void WriteLog(IEnumerable<TradeEvent> events)
    {
        using var log = JournalLog.Open(LogPath, new JournalLogOptions());
        var list = events.ToList();
        log.Begin(list[0].Seq);
        log.Append([.. list.Select(e => LogRecord.Create(e.Seq, 0, EventCodec.Encode(e)))]);
    }

    private static List<TradeEvent> Events(long firstSeq, int count) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var seq = firstSeq + i;
            var recorded = At.AddMilliseconds(seq);
            var state = new Trade($"R{seq}", "ACC-1", "AAPL", Side.Buy, 100m, 10m, 0m, 0m, TradeStatus.New, "XNAS", null, recorded, 1, seq, recorded, recorded);
            return new TradeEvent(seq, TradeEventType.Create, state, null, null, recorded, null);
        })];
}
