using System.Security.Cryptography;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;
using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// Pre-zeroed journal log segments (issue #12, write path), on real files: the writer overwrites zeros a background
/// thread wrote ahead, and recovery reads the zeros after the last whole record as the end of the log, a record half
/// written over them as a torn tail, and damage with intact records after it as damage. A crash is simulated by copying
/// the folder while the log is open (nothing is closed or cut), as the existing kill tests do.
/// </summary>
public sealed class PreZeroedJournalLogTests : IDisposable
{
    private const int SegmentBytes = 64 * 1024;
    private const int HeaderBytes = 32;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly DateTimeOffset At = new(2026, 11, 30, 18, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new("prezero-log");

    public void Dispose() => _directory.Dispose();

    private string LogPath => Path.Combine(_directory.Path, JournalLog.DirectoryName);

    private string CrashedPath => Path.Combine(_directory.Path, "crashed", JournalLog.DirectoryName);

    [Fact]
    public void Open_AfterAppendsToPreZeroedSegmentAndACrash_FindsExactlyTheRecordsAndKeepsOverwriting()
    {
        var events = Events(1, 20);
        var crashedSegment = CrashedSegmentAfter(events);
        Assert.Equal(SegmentBytes, new FileInfo(crashedSegment).Length);
        using (var reopened = Open(CrashedPath))
        {
            Assert.Null(reopened.TornTail);
            Assert.Equal(20, reopened.LastSeq);
            Assert.Equal(events, reopened.ReadFrom(1).Select(r => EventCodec.Decode(r.Seq, r.Payload.Span)));
            reopened.Append(Records(Events(21, 1)));
            Assert.Equal(SegmentBytes, new FileInfo(crashedSegment).Length);
        }

        using var again = Open(CrashedPath);
        Assert.Null(again.TornTail);
        Assert.Equal(Enumerable.Range(1, 21).Select(i => (long)i), again.ReadFrom(1).Select(r => r.Seq));
    }

    [Fact]
    public void Open_RecordHalfWrittenOverZeros_CutAsTornTailReportedAndTheZerosStay()
    {
        var crashedSegment = CrashedSegmentAfter(Events(1, 10));
        var end = EndOfRecords(Events(1, 10));
        // What a crash during the next append leaves: its header and the start of its payload; the rest still zeros.
        var partial = Framed(Events(11, 1)[0])[..37];
        WriteAt(crashedSegment, end, partial);

        using var reopened = Open(CrashedPath);

        Assert.Equal(10, reopened.LastSeq);
        var torn = Assert.IsType<TornTail>(reopened.TornTail);
        Assert.Equal(crashedSegment, torn.File);
        Assert.Equal(end, torn.Offset);
        var preserved = File.ReadAllBytes(torn.PreservedAs);
        Assert.Equal(torn.Bytes, preserved.Length);
        Assert.Equal(partial, preserved[..partial.Length]);
        var bytes = File.ReadAllBytes(crashedSegment);
        Assert.Equal(SegmentBytes, bytes.Length);
        Assert.Equal(-1, bytes.AsSpan((int)end).IndexOfAnyExcept((byte)0));
        reopened.Append(Records(Events(11, 1)));
        Assert.Equal(Enumerable.Range(1, 11).Select(i => (long)i), reopened.ReadFrom(1).Select(r => r.Seq));
    }

    [Fact]
    public void Open_DamagedRecordInTheMiddleOfPreZeroedSegment_ThrowsNamingFileAndOffsetAndChangesNothing()
    {
        var crashedSegment = CrashedSegmentAfter(Events(1, 10));
        var offsetOfSeq5 = EndOfRecords(Events(1, 4));
        LogFileDamage.FlipByte(crashedSegment, offsetOfSeq5 + 40);
        var before = Snapshot(CrashedPath);

        var error = Assert.Throws<JournalLogCorruptException>(() => Open(CrashedPath));

        Assert.Equal(crashedSegment, error.File);
        Assert.Equal(offsetOfSeq5, error.Offset);
        Assert.Contains($"{crashedSegment} at byte offset {offsetOfSeq5}", error.Message);
        Assert.Contains("intact records follow it", error.Message);
        Assert.Equal(before, Snapshot(CrashedPath));
    }

    [Fact]
    public void Open_RecordZeroedInTheMiddleOfPreZeroedSegment_ThrowsAsDamageNotAsTheEndOfTheLog()
    {
        var crashedSegment = CrashedSegmentAfter(Events(1, 10));
        var offsetOfSeq5 = EndOfRecords(Events(1, 4));
        WriteAt(crashedSegment, offsetOfSeq5, new byte[Framed(Events(5, 1)[0]).Length]);
        var before = Snapshot(CrashedPath);

        var error = Assert.Throws<JournalLogCorruptException>(() => Open(CrashedPath));

        Assert.Equal(offsetOfSeq5, error.Offset);
        Assert.Contains("is missing (zero bytes) and intact records follow it (seq 6", error.Message);
        Assert.Equal(before, Snapshot(CrashedPath));
    }

    [Fact]
    public void Append_RollWithPreparedSegmentReady_NewSegmentIsTheZeroedFileAtFullSize()
    {
        using var log = Open(LogPath);
        log.Begin(1);
        Assert.True(log.WaitForPreparedSegment(Patience), "no segment was prepared");
        var prepared = Path.Combine(LogPath, SegmentPreparer.ZeroedName);
        Assert.Equal(SegmentBytes, new FileInfo(prepared).Length);

        var seq = AppendUntilSegments(log, 0, 2);
        var rolled = log.SegmentFiles[^1];
        Assert.Equal(seq + 1, ParseFirstSeq(rolled));
        Assert.Equal(SegmentBytes, new FileInfo(rolled).Length);
        Assert.Equal(-1, ReadAll(rolled).AsSpan(HeaderBytes).IndexOfAnyExcept((byte)0));
        log.Append(Records(Events(seq + 1, 3)));
        Assert.Equal(SegmentBytes, new FileInfo(rolled).Length);
        Assert.True(log.WaitForPreparedSegment(Patience), "the segment after it was not prepared");
        Assert.Equal(Enumerable.Range(1, (int)seq + 3).Select(i => (long)i), log.ReadFrom(1).Select(r => r.Seq));
    }

    [Fact]
    public void Append_NoPreparedSegmentAtRoll_CreatesItAsBeforeThenGivesItAZeroTailOnceReady()
    {
        // A directory where the preparer writes its file makes every preparation fail, as a full disk would.
        var blocker = Path.Combine(LogPath, SegmentPreparer.PreparingName);
        Directory.CreateDirectory(blocker);
        File.WriteAllText(Path.Combine(blocker, "keep"), "x");
        using var log = Open(LogPath);
        log.Begin(1);
        var seq = AppendUntilSegments(log, 0, 2);
        var fallback = log.SegmentFiles[^1];
        log.Append(Records(Events(seq + 1, 2)));
        seq += 2;

        // Created as before the change: the header, then each append at the end of the file.
        Assert.Equal(EndOfRecords(Events(ParseFirstSeq(fallback), (int)(seq - ParseFirstSeq(fallback) + 1))), new FileInfo(fallback).Length);
        // The failures are counted, with their cause, for the metric and the warning.
        Assert.False(log.WaitForPreparedSegment(Patience));
        var failures = log.SegmentPreparationFailures;
        Assert.True(failures >= 1, $"{failures} failures counted");
        Assert.NotNull(log.LastSegmentPreparationError);

        Directory.Delete(blocker, recursive: true);
        seq = AppendUntilSegments(log, seq, 3);
        var third = log.SegmentFiles[^1];
        Assert.True(log.WaitForPreparedSegment(Patience), "nothing was prepared once the disk allowed it");
        seq++;
        log.Append(Records(Events(seq, 1)));

        // The segment keeps its name and records and now has a zero tail to the full size.
        Assert.Equal(3, log.SegmentFiles.Count);
        Assert.Equal(third, log.SegmentFiles[^1]);
        Assert.Equal(SegmentBytes, new FileInfo(third).Length);
        Assert.Equal(-1, ReadAll(third).AsSpan((int)EndOfRecords(Events(ParseFirstSeq(third), (int)(seq - ParseFirstSeq(third) + 1)))).IndexOfAnyExcept((byte)0));
        Assert.Equal(Enumerable.Range(1, (int)seq).Select(i => (long)i), log.ReadFrom(1).Select(r => r.Seq));
        Assert.Equal(failures, log.SegmentPreparationFailures); // nothing failed once the disk allowed it
    }

    [Fact]
    public async Task Engine_SegmentCannotBePrepared_WarnsOnceWithTheCauseAndCountsItInTheMetric()
    {
        var blocker = Path.Combine(LogPath, SegmentPreparer.PreparingName);
        Directory.CreateDirectory(blocker);
        File.WriteAllText(Path.Combine(blocker, "keep"), "x");
        var logger = new FakeLogger<WriteEngine>();
        using var meters = new TestMeters();
        using var failures = new MetricCollector<long>(meters.Factory, EngineMetricsNames.Meter, EngineMetricsNames.SegmentPreparationFailures);
        using var database = DuckDbDatabase.Open(Path.Combine(_directory.Path, "tradestore.duckdb"));
        DuckDbSchema.MigrateToLatest(database);
        using var log = Open(LogPath);
        await using (var engine = new WriteEngine(database, new StateIndex(), new EngineOptions(), meters.Factory, logger: logger, log: log))
        {
            engine.Start();
            for (var i = 0; i < 400 && !logger.Messages(2026).Any(); i++)
            {
                var result = await engine.SubmitAsync(new CreateTrade($"P{i}", "ACC", "AAPL", Side.Buy, 10, 1), TestContext.Current.CancellationToken);
                Assert.Null(result.Error); // a segment not prepared loses nothing and refuses nothing
            }

            var warning = Assert.Single(logger.Messages(2026));
            Assert.Contains("could not be prepared ahead", warning);
            failures.RecordObservableInstruments();
            Assert.True(failures.LastMeasurement?.Value >= 1, $"metric {failures.LastMeasurement?.Value}");
        }
    }

    [Fact]
    public void Dispose_PreZeroedSegment_CutToItsRecordsAndTheNextStartGivesItAZeroTailAgain()
    {
        string segment;
        using (var log = Open(LogPath))
        {
            log.Begin(1);
            log.Append(Records(Events(1, 10)));
            segment = log.SegmentFiles.Single();
        }

        Assert.Equal(EndOfRecords(Events(1, 10)), new FileInfo(segment).Length);
        using var reopened = Open(LogPath);
        reopened.Append(Records(Events(11, 1)));
        Assert.True(reopened.WaitForPreparedSegment(Patience), "nothing was prepared");
        reopened.Append(Records(Events(12, 1)));

        Assert.Equal([segment], reopened.SegmentFiles);
        Assert.Equal(SegmentBytes, new FileInfo(segment).Length);
        Assert.Equal(Enumerable.Range(1, 12).Select(i => (long)i), reopened.ReadFrom(1).Select(r => r.Seq));
        Crash();
        using var crashed = Open(CrashedPath);
        Assert.Null(crashed.TornTail);
        Assert.Equal(Enumerable.Range(1, 12).Select(i => (long)i), crashed.ReadFrom(1).Select(r => r.Seq));
    }

    [Fact]
    public void Dispose_OpenedAfterACrashWithoutAWrite_ChangesNothing()
    {
        using (var log = Open(LogPath))
        {
            log.Begin(1);
            log.Append(Records(Events(1, 10)));
            Crash();
        }

        var before = Snapshot(CrashedPath);

        // What a start stopped by exit 5 (after the log opened) does: open, read, close.
        using (var reopened = Open(CrashedPath))
        {
            Assert.Equal(10, reopened.ReadFrom(1).Count());
        }

        Assert.Equal(before, Snapshot(CrashedPath));
    }

    /// <summary>A start that replays a crash's log and serves, then stops cleanly without a write, leaves the segment exactly its records.</summary>
    [Fact]
    public void Dispose_InServiceAfterACrashWithoutAWrite_CutToItsRecords()
    {
        using (var log = Open(LogPath))
        {
            log.Begin(1);
            log.Append(Records(Events(1, 10)));
            Crash();
        }

        string segment;
        using (var reopened = Open(CrashedPath))
        {
            segment = reopened.SegmentFiles.Single();
            Assert.Equal(SegmentBytes, new FileInfo(segment).Length);
            reopened.MarkInService();
        }

        Assert.Equal(EndOfRecords(Events(1, 10)), new FileInfo(segment).Length);
        using var again = Open(CrashedPath);
        Assert.Null(again.TornTail);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), again.ReadFrom(1).Select(r => r.Seq));
    }

    [Fact]
    public void TruncateAfter_PreZeroedSegment_CutRecordsBecomeZerosAndTheLogContinuesFromTheCut()
    {
        string segment;
        using (var log = Open(LogPath))
        {
            log.Begin(1);
            log.Append(Records(Events(1, 10)));
            segment = log.SegmentFiles.Single();

            Assert.Equal(4, log.TruncateAfter(6));

            Assert.Equal(SegmentBytes, new FileInfo(segment).Length);
            Assert.Equal(-1, ReadAll(segment).AsSpan((int)EndOfRecords(Events(1, 6))).IndexOfAnyExcept((byte)0));
            log.Append(Records(Events(7, 1)));
            Crash();
        }

        using var reopened = Open(CrashedPath);
        Assert.Null(reopened.TornTail);
        Assert.Equal(Enumerable.Range(1, 7).Select(i => (long)i), reopened.ReadFrom(1).Select(r => r.Seq));
    }

    private static JournalLog Open(string path) => JournalLog.Open(path, new JournalLogOptions { SegmentBytes = SegmentBytes });

    /// <summary>Writes <paramref name="events"/> into a new log's first segment and crashes (<see cref="Crash"/>); returns that segment's crashed copy.</summary>
    private string CrashedSegmentAfter(IEnumerable<TradeEvent> events)
    {
        using var log = Open(LogPath);
        log.Begin(1);
        log.Append(Records(events));
        var segment = Path.GetFileName(log.SegmentFiles.Single());
        Crash();
        return Path.Combine(CrashedPath, segment);
    }

    /// <summary>What a kill leaves: the folder as it is while the log is open.</summary>
    private void Crash()
    {
        Directory.CreateDirectory(CrashedPath);
        foreach (var file in Directory.GetFiles(LogPath, "*" + JournalLog.SegmentExtension))
        {
            File.Copy(file, Path.Combine(CrashedPath, Path.GetFileName(file)));
        }
    }

    /// <summary>Appends one record at a time after <paramref name="seq"/> until the log has <paramref name="count"/> segments; returns the last seq.</summary>
    private static long AppendUntilSegments(JournalLog log, long seq, int count)
    {
        while (log.SegmentFiles.Count < count)
        {
            seq++;
            log.Append(Records(Events(seq, 1)));
        }

        return seq;
    }

    private static long ParseFirstSeq(string segment) => long.Parse(Path.GetFileNameWithoutExtension(segment), System.Globalization.CultureInfo.InvariantCulture);

    private static long EndOfRecords(IEnumerable<TradeEvent> events) => HeaderBytes + events.Sum(e => Framed(e).Length);

    private static List<TradeEvent> Events(long firstSeq, int count) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var seq = firstSeq + i;
            var state = new Trade($"T{seq}", "ACC-1", "AAPL", Side.Buy, 100m, 10.5m, 0m, 0m, TradeStatus.New, "XNAS", null, At, 1, seq, At, At.AddMilliseconds(seq));
            return new TradeEvent(seq, TradeEventType.Create, state, null, null, At.AddMilliseconds(seq), null);
        })];

    private static LogRecord[] Records(IEnumerable<TradeEvent> events) => [.. events.Select(e => LogRecord.Create(e.Seq, 0, EventCodec.Encode(e)))];

    private static byte[] Framed(TradeEvent e)
    {
        var record = LogRecord.Create(e.Seq, 0, EventCodec.Encode(e));
        var bytes = new byte[LogRecordFormat.FramedSize(record.Payload.Length)];
        LogRecordFormat.Write(record, bytes);
        return bytes;
    }

    private static byte[] ReadAll(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static void WriteAt(string file, long offset, byte[] bytes)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offset;
        stream.Write(bytes);
    }

    private static Dictionary<string, string> Snapshot(string directory) => Directory.GetFiles(directory, "*", SearchOption.AllDirectories)
        .ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
}
