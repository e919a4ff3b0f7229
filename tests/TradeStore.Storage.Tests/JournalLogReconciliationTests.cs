using System.Security.Cryptography;
using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Journal;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// Start-up when the journal log and DuckDB disagree about where the history ends, on real files: a log that ends
/// before DuckDB is extended from DuckDB only when both hold the same history, and a damaged tail is cut as torn only
/// when, with fsync durability, the cut drops nothing DuckDB already holds (DuckDB is given an event only after the
/// log's fdatasync, so such bytes were acknowledged).
/// </summary>
public sealed class JournalLogReconciliationTests : IDisposable
{
    private const int SegmentHeaderBytes = 32;
    private static readonly DateTimeOffset At = new DateTimeOffset(2026, 12, 2, 9, 30, 0, TimeSpan.Zero).AddTicks(1_234_560);
    private readonly TempDirectory _directory = new("journal-reconcile");

    public void Dispose() => _directory.Dispose();

    private string LogPath => JournalLog.DirectoryFor(_directory.DatabasePath);

    [Theory]
    [InlineData("B", 0)]
    [InlineData("A", 1)]
    public void Run_LogBehindDuckDbWithAnotherHistory_ThrowsTwoHistoriesAndChangesNothing(string logPrefix, int laterMilliseconds)
    {
        // DuckDB of store A (5 events); the log of another store B (3 events): other trade ids, or the same ids recorded at other times.
        var duckDb = Events(1, 5, "A", At);
        WriteLog(Events(1, 3, logPrefix, At.AddMilliseconds(laterMilliseconds)));
        using var database = DatabaseWith(duckDb);
        var before = Snapshot(LogPath);

        using (var log = JournalLog.Open(LogPath, new JournalLogOptions(), appliedSeq: 5))
        {
            var error = Assert.Throws<JournalLogCorruptException>(() => JournalLogReplay.Run(database, log));

            Assert.Contains("at seq 3 the journal log holds", error.Message);
            Assert.Contains($"{logPrefix}3 v", error.Message);
            Assert.Contains("two different histories", error.Message);
            Assert.Equal(3, log.LastSeq);
        }

        Assert.Equal(before, Snapshot(LogPath));
        Assert.Equal(duckDb, new JournalReader(database).ReadAfter(0, 100));
    }

    /// <summary>A long replay says that it starts and how far it got, so a slow start-up is not silent (here with a low bar and no wait between lines).</summary>
    [Fact]
    public void Run_LongReplay_AnnouncedThenReportedAsItGoes()
    {
        WriteLog(Events(1, 45_000, "A", At));
        using var database = DatabaseWith([]);
        var logger = new Microsoft.Extensions.Logging.Testing.FakeLogger<WriteEngine>();

        using (var log = JournalLog.Open(LogPath, new JournalLogOptions(), appliedSeq: 0))
        {
            var result = JournalLogReplay.Run(database, log, logger, announcedFrom: 1_000, progressEvery: TimeSpan.Zero);

            Assert.Equal(45_000, result.LastSeq);
        }

        Assert.Equal(["Replaying the journal log into DuckDB before serving: seq 1..45000 (45000 events)"], logger.Messages(2032));
        Assert.Equal(["Replaying the journal log: 20000 of 45000 events in DuckDB", "Replaying the journal log: 40000 of 45000 events in DuckDB"],
            logger.Messages(2033).Select(m => m[..m.IndexOf(" (", StringComparison.Ordinal)]));
        Assert.Equal(45_000, new JournalReader(database).LastSeq());
    }

    /// <summary>
    /// Also the documented rollback: after 'migrate down --to 2' a build from before the log wrote DuckDB alone. Warning
    /// 2022 used to name only 'tradestore recover' and an OS crash, which sent an operator who had rolled back looking
    /// for lost data; it names the rollback too.
    /// </summary>
    [Fact]
    public void Run_LogBehindDuckDbWithTheSameHistory_CopiesDuckDbsEventsIntoTheLog()
    {
        var history = Events(1, 5, "A", At);
        WriteLog(history.Take(3));
        using var database = DatabaseWith(history);
        var logger = new Microsoft.Extensions.Logging.Testing.FakeLogger<WriteEngine>();

        using (var log = JournalLog.Open(LogPath, new JournalLogOptions(), appliedSeq: 5))
        {
            var result = JournalLogReplay.Run(database, log);
            result.Report(logger);

            Assert.Equal(5, result.LastSeq);
            Assert.Equal(3, result.LogWasBehindAt);
        }

        var warning = Assert.Single(logger.Messages(2022));
        Assert.Contains("up to seq 5 but the journal log only up to seq 3", warning, StringComparison.Ordinal);
        Assert.Contains("a build from before the journal log after 'tradestore migrate down --to 2'", warning, StringComparison.Ordinal);

        using var reopened = JournalLog.Open(LogPath, new JournalLogOptions(), appliedSeq: 5);
        Assert.Equal(history, reopened.ReadFrom(1).Select(r => EventCodec.Decode(r.Seq, r.Payload.Span)).ToList());
    }

    [Fact]
    public void Open_FsyncDamagedTailBelowDuckDbsEnd_ThrowsNamingFileOffsetAndSeqsAndCutsNothing()
    {
        var history = Events(1, 10, "A", At);
        var segment = WriteLog(history);
        var offsetOfSeq6 = OffsetOf(history, 6);
        OverwriteToEnd(segment, offsetOfSeq6);
        var before = Snapshot(LogPath);

        var error = Assert.Throws<JournalLogCorruptException>(() => JournalLog.Open(LogPath, new JournalLogOptions(), appliedSeq: 8));

        Assert.Equal(segment, error.File);
        Assert.Equal(offsetOfSeq6, error.Offset);
        Assert.Contains($"{segment} at byte offset {offsetOfSeq6}", error.Message);
        Assert.Contains("after seq 5", error.Message);
        Assert.Contains("up to seq 8", error.Message);
        Assert.Contains("Storage:Durability=os", error.Message);
        Assert.Equal(before, Snapshot(LogPath));
        Assert.Empty(Directory.GetFiles(LogPath, "*.torn-*"));
    }

    [Fact]
    public void Start_EngineOpeningTheLogItselfWithDamagedTailBelowDuckDbsEnd_ThrowsAndCutsNothing()
    {
        var history = Events(1, 10, "A", At);
        var segment = WriteLog(history);
        OverwriteToEnd(segment, OffsetOf(history, 6));
        using var database = DatabaseWith(history.Take(8));
        var before = Snapshot(LogPath);
        using var meters = new TestMeters();
        var engine = new WriteEngine(database, new StateIndex(), new EngineOptions(), meters.Factory);

        var error = Assert.Throws<JournalLogCorruptException>(engine.Start);

        Assert.Equal(segment, error.File);
        Assert.Equal(before, Snapshot(LogPath));
    }

    [Fact]
    public void Open_OsDamagedTailBelowDuckDbsEnd_CutAsBeforeAndTheReplayCopiesTheRestFromDuckDb()
    {
        var history = Events(1, 10, "A", At);
        var segment = WriteLog(history);
        var offsetOfSeq6 = OffsetOf(history, 6);
        OverwriteToEnd(segment, offsetOfSeq6);
        using var database = DatabaseWith(history.Take(8));

        using var log = JournalLog.Open(LogPath, new JournalLogOptions { Durability = DurabilityMode.Os }, appliedSeq: 8);
        var torn = Assert.IsType<TornTail>(log.TornTail);
        Assert.Equal(offsetOfSeq6, torn.Offset);
        Assert.Equal(5, log.LastSeq);
        var result = JournalLogReplay.Run(database, log);

        Assert.Equal(8, result.LastSeq);
        Assert.Equal(5, result.LogWasBehindAt);
        Assert.Equal(history.Take(8), log.ReadFrom(1).Select(r => EventCodec.Decode(r.Seq, r.Payload.Span)).ToList());
    }

    [Theory]
    [InlineData(DurabilityMode.Fsync, 8)]
    [InlineData(DurabilityMode.Fsync, 10)]
    [InlineData(DurabilityMode.Os, 10)]
    public void Open_GarbageAfterTheLastRecordDuckDbNotPastIt_CutAsATornTail(DurabilityMode durability, long appliedSeq)
    {
        var history = Events(1, 10, "A", At);
        var segment = WriteLog(history);
        var whole = new FileInfo(segment).Length;
        var garbage = RandomNumberGenerator.GetBytes(300);
        garbage[0] |= 1;
        using (var stream = new FileStream(segment, FileMode.Append))
        {
            stream.Write(garbage);
        }

        using var log = JournalLog.Open(LogPath, new JournalLogOptions { Durability = durability }, appliedSeq);

        var torn = Assert.IsType<TornTail>(log.TornTail);
        Assert.Equal(whole, torn.Offset);
        Assert.Equal(garbage, File.ReadAllBytes(torn.PreservedAs));
        Assert.Equal(whole, new FileInfo(segment).Length);
        Assert.Equal(10, log.LastSeq);
    }

    /// <summary>Writes a log holding <paramref name="events"/> and closes it (cleanly: the segment ends at its last record); returns the segment.</summary>
    private string WriteLog(IEnumerable<TradeEvent> events)
    {
        using var log = JournalLog.Open(LogPath, new JournalLogOptions());
        var list = events.ToList();
        log.Begin(list[0].Seq);
        log.Append([.. list.Select(e => LogRecord.Create(e.Seq, 0, EventCodec.Encode(e)))]);
        return log.SegmentFiles[^1];
    }

    private DuckDbDatabase DatabaseWith(IEnumerable<TradeEvent> events)
    {
        var database = DuckDbDatabase.Open(_directory.DatabasePath);
        DuckDbSchema.MigrateToLatest(database);
        using var writer = new JournalBatchWriter(database);
        writer.Write([.. events]);
        return database;
    }

    /// <summary>Random bytes from <paramref name="offset"/> to the end of the file: records the disk lost after they were acknowledged.</summary>
    private static void OverwriteToEnd(string file, long offset)
    {
        var bytes = File.ReadAllBytes(file);
        var garbage = RandomNumberGenerator.GetBytes(bytes.Length - (int)offset);
        garbage[0] |= 1;
        garbage.CopyTo(bytes, offset);
        File.WriteAllBytes(file, bytes);
    }

    private static long OffsetOf(IEnumerable<TradeEvent> events, long seq) =>
        SegmentHeaderBytes + events.Where(e => e.Seq < seq).Sum(e => LogRecordFormat.FramedSize(EventCodec.Encode(e).Length));

    /// <summary>One event per trade: trade ids <paramref name="prefix"/>{seq}, recorded <paramref name="at"/> plus seq milliseconds.</summary>
    private static List<TradeEvent> Events(long firstSeq, int count, string prefix, DateTimeOffset at) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var seq = firstSeq + i;
            var recorded = at.AddMilliseconds(seq);
            var state = new Trade($"{prefix}{seq}", "ACC-1", "AAPL", seq % 2 == 0 ? Side.Buy : Side.Sell, 100.5m, 10.125m, 0m, 0m, TradeStatus.New,
                "XNAS", null, recorded, 1, seq, recorded, recorded);
            return new TradeEvent(seq, TradeEventType.Create, state, null, null, recorded, null);
        })];

    private static Dictionary<string, string> Snapshot(string directory) => Directory.GetFiles(directory, "*", SearchOption.AllDirectories)
        .ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
}
