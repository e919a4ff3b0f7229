using System.Security.Cryptography;
using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Integrity;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>The journal log on real files: what it keeps, what a crash leaves, what damage stops, what it recycles.</summary>
public sealed class JournalLogTests : IDisposable
{
    private const int SegmentHeaderBytes = 32;
    private static readonly DateTimeOffset At = new DateTimeOffset(2026, 11, 30, 9, 30, 0, TimeSpan.Zero).AddTicks(1_234_560);
    private readonly TempDirectory _directory = new("journal-log");

    public void Dispose() => _directory.Dispose();

    private string LogPath => Path.Combine(_directory.Path, JournalLog.DirectoryName);

    [Fact]
    public void Append_Reopened_EveryRecordReadableFromAnySeqWithTheSameChecksumsAndEvents()
    {
        var events = Events(1, 3000);
        using (var log = Open(segmentBytes: 64 * 1024))
        {
            log.Begin(1);
            foreach (var chunk in events.Chunk(7))
            {
                log.Append(Records(chunk));
            }
        }

        using var reopened = Open(segmentBytes: 64 * 1024);

        Assert.Null(reopened.TornTail);
        Assert.True(reopened.SegmentFiles.Count > 5, $"{reopened.SegmentFiles.Count} segments");
        Assert.Equal(3000, reopened.LastSeq);
        var all = reopened.ReadFrom(1).ToList();
        Assert.Equal(Enumerable.Range(1, 3000).Select(i => (long)i), all.Select(r => r.Seq));
        Assert.All(all, r => Assert.True(r.IsIntact));
        Assert.Equal(events, all.Select(r => EventCodec.Decode(r.Seq, r.Payload.Span)));
        Assert.Equal(Enumerable.Range(2345, 656).Select(i => (long)i), reopened.ReadFrom(2345).Select(r => r.Seq));
        Assert.Equal(all[1999].Checksum, reopened.ReadFrom(2000).First().Checksum);
    }

    [Fact]
    public void Append_CopyOfReadRecordsIntoAnotherLog_SameBytesAccepted()
    {
        using var source = Open();
        source.Begin(1);
        source.Append(Records(Events(1, 50)));
        using var follower = JournalLog.Open(Path.Combine(_directory.Path, "follower"), new JournalLogOptions());
        follower.Begin(1);

        follower.Append([.. source.ReadFrom(1)]);

        Assert.Equal(source.ReadFrom(1).Select(r => (r.Seq, r.Checksum)), follower.ReadFrom(1).Select(r => (r.Seq, r.Checksum)));
        var damaged = source.ReadFrom(10).First() with { Checksum = 12345 };
        Assert.Throws<ArgumentException>(() => follower.Append([damaged with { Seq = 51 }]));
    }

    [Fact]
    public void Append_WithWrittenCallback_HandsOnTheRecordsOnceInTheFileAndBeforeTheyCountAsDurable()
    {
        using var log = Open();
        log.Begin(1);
        log.Append(Records(Events(1, 5)));
        var records = Records(Events(6, 5));
        IReadOnlyList<LogRecord>? handed = null;
        var lastSeqAtHandOff = -1L;
        var inFileAtHandOff = false;

        log.Append(records, written =>
        {
            handed = written;
            lastSeqAtHandOff = log.LastSeq;
            using var file = new FileStream(log.SegmentFiles[^1], FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var bytes = new byte[file.Length];
            file.ReadExactly(bytes);
            inFileAtHandOff = bytes.AsSpan().IndexOf(Framed(Events(10, 1)[0])) >= 0;
        });

        Assert.Same(records, handed);
        Assert.Equal(5, lastSeqAtHandOff);
        Assert.True(inFileAtHandOff, "the last record was not in the segment file when it was handed on");
        Assert.Equal(10, log.LastSeq);
        Assert.False(log.IsBroken);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), log.ReadFrom(1).Select(r => r.Seq));
    }

    [Fact]
    public void TruncateAfter_TailAcrossSegments_RemovesItDurablyAndTheLogContinuesFromTheCut()
    {
        using (var log = Open(segmentBytes: 8 * 1024))
        {
            log.Begin(1);
            foreach (var chunk in Events(1, 400).Chunk(9))
            {
                log.Append([.. chunk.Select(e => LogRecord.Create(e.Seq, e.Seq <= 250 ? 3 : 7, EventCodec.Encode(e)))]);
            }

            Assert.True(log.SegmentFiles.Count(f => ParseFirstSeq(f) > 251) >= 2, "the tail spans several segments");

            var removed = log.TruncateAfter(250);

            Assert.Equal(150, removed);
            Assert.Equal(250, log.LastSeq);
            Assert.Equal(3, log.LastTerm);
            Assert.Equal(0, log.TruncateAfter(300));
            Assert.All(log.SegmentFiles, f => Assert.True(ParseFirstSeq(f) <= 251, $"{f} starts after the cut"));
            log.Append([LogRecord.Create(251, 9, EventCodec.Encode(Events(251, 1)[0]))]);
        }

        using var reopened = Open(segmentBytes: 8 * 1024);

        Assert.Null(reopened.TornTail);
        Assert.Equal(251, reopened.LastSeq);
        Assert.Equal(9, reopened.LastTerm);
        Assert.Equal(Enumerable.Range(1, 251).Select(i => (long)i), reopened.ReadFrom(1).Select(r => r.Seq));
        Assert.Equal(9, reopened.ReadFrom(251).Single().Term);
        Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            reopened.RecycleThrough(200);
            reopened.TruncateAfter(reopened.FirstSeq - 2);
        });
    }

    [Theory]
    [InlineData("3@1,7@101", 110L, "3@1,5@91", 130L, 90L)]   // an old leader of term 7 rejoins a leader that took over in term 5 at seq 91
    [InlineData("3@1", 100L, "3@1,9@101", 150L, 100L)]       // a follower that is merely behind: everything it holds matches
    [InlineData("3@1,4@50", 80L, "3@1,4@50,6@71", 90L, 70L)] // the same term 4 up to seq 70, then the logs part
    [InlineData("2@1", 10L, "3@1", 10L, 0L)]                 // nothing in common
    public void MatchPoint_TwoLogsTermRuns_LastSeqBothHoldWithTheSameTerm(string mine, long myLast, string theirs, long theirLast, long expected)
    {
        Assert.Equal(expected, TermRun.MatchPoint(TermRun.Parse(mine)!, myLast, TermRun.Parse(theirs)!, theirLast));
    }

    [Fact]
    public void TermRuns_AppendedReopenedAndTruncated_FollowTheTermsOfTheRecords()
    {
        using (var log = Open(segmentBytes: 8 * 1024))
        {
            log.Begin(1);
            log.Append([.. Events(1, 100).Select(e => LogRecord.Create(e.Seq, e.Seq <= 60 ? 2 : 5, EventCodec.Encode(e)))]);
            Assert.Equal("2@1,5@61", TermRun.Format(log.TermRuns));
        }

        using var reopened = Open(segmentBytes: 8 * 1024);
        Assert.Equal("2@1,5@61", TermRun.Format(reopened.TermRuns));
        reopened.TruncateAfter(60);
        Assert.Equal("2@1", TermRun.Format(reopened.TermRuns));
    }

    [Fact]
    public void Open_TornTail_CutAtTheLastWholeRecordReportedAndKept()
    {
        string segment;
        using (var log = Open())
        {
            log.Begin(1);
            log.Append(Records(Events(1, 10)));
            segment = log.SegmentFiles[^1];
        }

        var whole = new FileInfo(segment).Length;
        // What a crash during the next append leaves: the start of a record, its end never written.
        var partial = Framed(Events(11, 1)[0])[..37];
        AppendBytes(segment, partial);

        using var reopened = Open();

        Assert.Equal(10, reopened.LastSeq);
        var torn = Assert.IsType<TornTail>(reopened.TornTail);
        Assert.Equal(segment, torn.File);
        Assert.Equal(whole, torn.Offset);
        Assert.Equal(partial.Length, torn.Bytes);
        Assert.Equal(partial, File.ReadAllBytes(torn.PreservedAs));
        Assert.Equal(whole, new FileInfo(segment).Length);
        reopened.Append(Records(Events(11, 1)));
        Assert.Equal(11, reopened.ReadFrom(1).Count());
    }

    [Fact]
    public void Open_CorruptedMiddleRecord_ThrowsNamingFileAndOffsetAndChangesNothing()
    {
        var (segment, offsetOfSeq5) = WriteTenRecordsAndDamageTheFifth();
        var before = Snapshot();

        var error = Assert.Throws<JournalLogCorruptException>(() => Open());

        Assert.Equal(segment, error.File);
        Assert.Equal(offsetOfSeq5, error.Offset);
        Assert.Contains(segment, error.Message);
        Assert.Contains($"offset {offsetOfSeq5}", error.Message);
        Assert.Contains("recover --from clickhouse --set-aside", error.Message);
        Assert.Equal(before, Snapshot());
    }

    [Theory]
    [InlineData(DurabilityMode.Fsync, 10, true)]
    [InlineData(DurabilityMode.Fsync, 11, false)] // DuckDB holds seq 11: the damaged tail held a durable record
    [InlineData(DurabilityMode.Os, 11, true)]
    public void Check_TornTail_ReportsWhatOpenWouldDoAndChangesNothing(DurabilityMode durability, long appliedSeq, bool torn)
    {
        string segment;
        using (var log = Open())
        {
            log.Begin(1);
            log.Append(Records(Events(1, 10)));
            segment = log.SegmentFiles[^1];
        }

        var whole = new FileInfo(segment).Length;
        var partial = Framed(Events(11, 1)[0])[..37];
        AppendBytes(segment, partial);
        var before = Snapshot();

        if (!torn)
        {
            var error = Assert.Throws<JournalLogCorruptException>(() => JournalLog.Check(LogPath, durability, appliedSeq, cancellationToken: TestContext.Current.CancellationToken));
            Assert.Equal(before, Snapshot());
            var opened = Assert.Throws<JournalLogCorruptException>(() => JournalLog.Open(LogPath, new JournalLogOptions { Durability = durability }, appliedSeq));
            Assert.Equal((opened.File, opened.Offset, opened.Message), (error.File, error.Offset, error.Message));
            Assert.Equal(before, Snapshot());
            return;
        }

        var check = JournalLog.Check(LogPath, durability, appliedSeq, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(before, Snapshot());
        var found = Assert.IsType<TornTailFound>(check.TornTail);
        Assert.Equal(new TornTailFound(segment, whole, partial.Length), found);
        Assert.Equal((1L, 10L, 10L), (check.FirstSeq, check.LastSeq, check.Records));
        Assert.Equal(Enumerable.Range(4, 7).Select(i => (long)i), check.ReadFrom(4).Select(r => r.Seq));
        using var reopened = JournalLog.Open(LogPath, new JournalLogOptions { Durability = durability }, appliedSeq);
        var cut = Assert.IsType<TornTail>(reopened.TornTail);
        Assert.Equal((found.File, found.Offset, found.Bytes), (cut.File, cut.Offset, cut.Bytes));
    }

    [Fact]
    public void Check_CorruptedMiddleRecord_ThrowsWhatOpenThrowsAndChangesNothing()
    {
        var (segment, offsetOfSeq5) = WriteTenRecordsAndDamageTheFifth();
        var before = Snapshot();

        var error = Assert.Throws<JournalLogCorruptException>(() => JournalLog.Check(LogPath, DurabilityMode.Fsync, 10, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(before, Snapshot());
        Assert.Equal((segment, offsetOfSeq5), (error.File, error.Offset));
        Assert.Equal(Assert.Throws<JournalLogCorruptException>(() => Open()).Message, error.Message);
    }

    [Fact]
    public void Check_NoFolderOrAHeaderlessLastSegment_ReportedNothingCreatedOrWritten()
    {
        var absent = JournalLog.Check(LogPath, DurabilityMode.Fsync, cancellationToken: TestContext.Current.CancellationToken);

        Assert.False(absent.Exists);
        Assert.True(absent.IsEmpty);
        Assert.False(Directory.Exists(LogPath));

        using (var log = Open(segmentBytes: 4096))
        {
            log.Begin(1);
            foreach (var e in Events(1, 40))
            {
                log.Append(Records([e]));
            }
        }

        // A crash while the next segment was being created: fewer bytes than a header, all zeros.
        var lastSeq = JournalLog.Check(LogPath, DurabilityMode.Fsync, cancellationToken: TestContext.Current.CancellationToken).LastSeq;
        var next = Path.Combine(LogPath, $"{lastSeq + 1:D20}.log");
        File.WriteAllBytes(next, new byte[10]);
        var before = Snapshot();

        var check = JournalLog.Check(LogPath, DurabilityMode.Fsync, lastSeq, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(next, check.HeaderToWrite);
        Assert.Equal(lastSeq, check.LastSeq);
        Assert.Null(check.TornTail);
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public void TailRead_CancelledWhileReading_StopsAtTheNextRecord()
    {
        WriteInSmallSegments(40);
        var check = JournalLog.Check(LogPath, DurabilityMode.Fsync, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(35, JournalLogTail.Read(check, 5, cancellationToken: TestContext.Current.CancellationToken).Records);
        Assert.Equal(35, JournalLogReplay.CheckReplayable(check, 5, TestContext.Current.CancellationToken));
        // A pending cut after seq 20: folded up to it, every record decoded (verify reads the tail once for both).
        var cut = JournalLogTail.Read(check, 5, through: 20, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal((15L, 20L, 35L), (cut.Records, cut.LastSeq, cut.Replayable));

        // verify's Ctrl-C arrives while the tail is read: after the 10th record read past DuckDB's end (seq 5).
        using (var cancel = new CancellationTokenSource())
        {
            var view = new CancelAfter(check, 10, cancel);
            Assert.ThrowsAny<OperationCanceledException>(() => JournalLogTail.Read(view, 5, cancellationToken: cancel.Token));
            Assert.Equal(11, view.Read);
        }

        using (var cancel = new CancellationTokenSource())
        {
            var view = new CancelAfter(check, 10, cancel);
            Assert.ThrowsAny<OperationCanceledException>(() => JournalLogReplay.CheckReplayable(view, 5, cancel.Token));
            Assert.Equal(11, view.Read);
        }
    }

    [Fact]
    public void Open_SegmentMissingBetweenOthers_ThrowsNamingTheGap()
    {
        using (var log = Open(segmentBytes: 4096))
        {
            log.Begin(1);
            foreach (var e in Events(1, 200))
            {
                log.Append(Records([e]));
            }

            File.Delete(log.SegmentFiles[2]);
        }

        var before = Snapshot();

        var error = Assert.Throws<JournalLogCorruptException>(() => Open(segmentBytes: 4096));

        Assert.Contains("are missing", error.Message);
        Assert.Equal(before, Snapshot());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Open_NewestSegmentsRemoved_TheSealOfTheLastOneLeftStopsStartNamingWhatIsMissingAndChangesNothing(int removed)
    {
        var segments = WriteInSmallSegments(200);

        Assert.True(segments.Count > removed + 1, $"{segments.Count} segments");
        foreach (var segment in segments.TakeLast(removed))
        {
            File.Delete(segment);
        }

        var lastLeft = segments[^(removed + 1)];
        var missing = Path.GetFileName(segments[^removed]);
        var lastSeqLeft = ParseFirstSeq(segments[^removed]) - 1;
        var before = Snapshot();

        var error = Assert.Throws<JournalLogCorruptException>(() => Open(segmentBytes: 4096));
        var check = Assert.Throws<JournalLogCorruptException>(() => JournalLog.Check(LogPath, DurabilityMode.Fsync, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(lastLeft, error.File);
        Assert.Equal(SealOffset(lastLeft), error.Offset);
        Assert.Contains($"its records end at seq {lastSeqLeft} and the log went on in {missing}, which is missing", error.Message);
        Assert.Contains($"every acknowledged event from seq {lastSeqLeft + 1} on", error.Message);
        Assert.Equal(error.Message, check.Message);
        Assert.Equal(before, Snapshot());
    }

    /// <summary>
    /// The newest segment renamed (by hand, or by a copy tool: <c>… (1).log</c>), or another one given a wrong first seq.
    /// Before, the start said the segment "is missing" while it sat in the folder under another name (a name that is not
    /// 20 digits is never read), and "the segment header is damaged" of an intact header naming another seq. Now the
    /// message names the unread file, and what the intact header says the name should be; nothing is changed.
    /// </summary>
    [Fact]
    public void Open_SegmentUnderAnotherName_StopNamesTheUnreadFileAndTheNameItsHeaderGives()
    {
        var segments = WriteInSmallSegments(200);
        Assert.True(segments.Count > 2, $"{segments.Count} segments");
        var newest = segments[^1];
        var copied = Path.Combine(LogPath, Path.GetFileNameWithoutExtension(newest) + " (1).log");
        File.Move(newest, copied);
        var before = Snapshot();

        var error = Assert.Throws<JournalLogCorruptException>(() => Open(segmentBytes: 4096));
        var check = Assert.Throws<JournalLogCorruptException>(() => JournalLog.Check(LogPath, DurabilityMode.Fsync, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains($"{Path.GetFileName(newest)}, which is missing", error.Message);
        Assert.Contains($"also holds {Path.GetFileName(copied)}, not named as a segment", error.Message);
        Assert.Equal(error.Message, check.Message);
        Assert.Equal(before, Snapshot());

        // Renamed to a first seq its header does not name: the header is intact, and the message gives the right name.
        var wrong = Path.Combine(LogPath, $"{ParseFirstSeq(newest) + 1:D20}.log");
        File.Move(copied, wrong);

        error = Assert.Throws<JournalLogCorruptException>(() => Open(segmentBytes: 4096));

        Assert.Equal(wrong, error.File);
        Assert.Contains($"the segment header is intact but names first seq {ParseFirstSeq(newest)}", error.Message);
        Assert.Contains($"is named {Path.GetFileName(newest)}", error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    public void Open_LastSegmentEmptiedAfterASealedOne_StopsStartNamingItAndChangesNothing(int bytesLeft)
    {
        // Not what a crash leaves: the roll synced this segment's header before it sealed the one before. Before the fix it
        // was taken for a segment whose creation a crash interrupted, its header rewritten, and its records silently lost.
        var segments = WriteInSmallSegments(200);
        var last = segments[^1];
        var firstSeq = ParseFirstSeq(last);
        File.WriteAllBytes(last, new byte[bytesLeft]);
        var before = Snapshot();

        var error = Assert.Throws<JournalLogCorruptException>(() => Open(segmentBytes: 4096));
        var check = Assert.Throws<JournalLogCorruptException>(() => JournalLog.Check(LogPath, DurabilityMode.Fsync, cancellationToken: TestContext.Current.CancellationToken));
        var withOs = Assert.Throws<JournalLogCorruptException>(() => JournalLog.Open(LogPath, new JournalLogOptions { SegmentBytes = 4096, Durability = DurabilityMode.Os }));

        Assert.Equal((last, 0L), (error.File, error.Offset));
        Assert.Contains("the segment before it was sealed when the log rolled over to it", error.Message);
        Assert.Contains($"every acknowledged event from seq {firstSeq} on", error.Message);
        Assert.Equal(error.Message, check.Message);
        Assert.Equal(error.Message, withOs.Message);
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public void Open_OnlySegmentEmptiedWhileDuckDbHoldsItsSeqs_StopsWithFsyncAndIsAcceptedWithOs()
    {
        using (var log = Open())
        {
            log.Begin(1);
            log.Append(Records(Events(1, 40)));
        }

        var segment = Assert.Single(Directory.GetFiles(LogPath, "*.log"));
        File.WriteAllBytes(segment, []);
        var before = Snapshot();

        var error = Assert.Throws<JournalLogCorruptException>(() => JournalLog.Open(LogPath, new JournalLogOptions(), appliedSeq: 30));
        var check = Assert.Throws<JournalLogCorruptException>(() => JournalLog.Check(LogPath, DurabilityMode.Fsync, appliedSeq: 30, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal((segment, 0L), (error.File, error.Offset));
        Assert.Contains("DuckDB holds events up to seq 30", error.Message);
        Assert.Contains("acknowledged events 1..30 (at least)", error.Message);
        Assert.Equal(error.Message, check.Message);
        Assert.Equal(before, Snapshot());

        // A new log a crash interrupted at its first segment (DuckDB holds nothing past it), and os durability, stay accepted.
        Assert.Equal(segment, JournalLog.Check(LogPath, DurabilityMode.Fsync, appliedSeq: 0, cancellationToken: TestContext.Current.CancellationToken).HeaderToWrite);
        using var reopened = JournalLog.Open(LogPath, new JournalLogOptions { Durability = DurabilityMode.Os }, appliedSeq: 30);
        Assert.Equal(0, reopened.LastSeq);
    }

    [Fact]
    public void Append_Rolls_EverySegmentButTheLastEndsWithTheSealNamingItsSuccessor()
    {
        using var log = Open(segmentBytes: 4096);
        log.Begin(1);
        foreach (var chunk in Events(1, 100).Chunk(3))
        {
            log.Append(Records(chunk));
        }

        var segments = log.SegmentFiles;
        Assert.True(segments.Count > 2, $"{segments.Count} segments");
        for (var i = 0; i < segments.Count - 1; i++)
        {
            var bytes = ReadShared(segments[i]);
            var offset = (int)SealOffset(segments[i]);
            Assert.True(SegmentSeal.IsSealFor(bytes.AsSpan(offset), ParseFirstSeq(segments[i + 1])), $"{segments[i]} is not sealed for its successor");
        }

        var last = ReadShared(segments[^1]);
        Assert.True(last.AsSpan((int)SealOffset(segments[^1])).IndexOfAnyExcept((byte)0) < 0, "the segment being written has a seal");
    }

    [Fact]
    public void TruncateAfter_TheLastSeqOfASealedSegment_UnsealsItSoTheCutLogReopensAndRollsAgain()
    {
        long cut;
        using (var log = Open(segmentBytes: 4096))
        {
            log.Begin(1);
            foreach (var chunk in Events(1, 200).Chunk(3))
            {
                log.Append(Records(chunk));
            }

            cut = ParseFirstSeq(log.SegmentFiles[2]) - 1;
            Assert.Equal(200 - cut, log.TruncateAfter(cut));
            Assert.Equal(2, log.SegmentFiles.Count);
        }

        using var reopened = Open(segmentBytes: 4096);

        Assert.Equal(cut, reopened.LastSeq);
        foreach (var chunk in Events(cut + 1, 100).Chunk(3))
        {
            reopened.Append(Records(chunk));
        }

        Assert.Equal(Enumerable.Range(1, (int)cut + 100).Select(i => (long)i), reopened.ReadFrom(1).Select(r => r.Seq));
        // The segment that held the cut rolls again (with the next append, as it was full) and is sealed for its new successor.
        var rolled = reopened.SegmentFiles;
        Assert.True(rolled.Count > 2, $"{rolled.Count} segments");
        Assert.True(SegmentSeal.IsSealFor(ReadShared(rolled[1]).AsSpan((int)SealOffset(rolled[1])), ParseFirstSeq(rolled[2])));
    }

    [Theory]
    [InlineData(4, 4)]   // its checksum never reached the disk
    [InlineData(12, 12)] // its second half never reached the disk
    [InlineData(0, 24)]  // none of it (or a segment from before seals): zeros after the last record
    public void Open_SealHalfWrittenInASegmentWithASuccessor_Accepted(int from, int zeroBytes)
    {
        var segments = WriteInSmallSegments(100);

        using (var stream = new FileStream(segments[0], FileMode.Open, FileAccess.Write))
        {
            stream.Position = SealOffset(segments[0]) + from;
            stream.Write(new byte[zeroBytes]);
        }

        using var reopened = Open(segmentBytes: 4096);

        Assert.Equal(100, reopened.LastSeq);
        Assert.Equal(100, reopened.ReadFrom(1).Count());
    }

    [Fact]
    public void Open_DamageAfterTheSealOfASealedSegment_ThrowsAsDamage()
    {
        var segments = WriteInSmallSegments(100);

        AppendBytes(segments[0], [1, 2, 3, 4, 5, 6, 7, 8]);

        var error = Assert.Throws<JournalLogCorruptException>(() => Open(segmentBytes: 4096));

        Assert.Equal(segments[0], error.File);
        Assert.Contains("in a sealed segment", error.Message);
    }

    [Fact]
    public void RecycleThrough_DeletesOnlySealedSegmentsWhollyAtOrBelowTheSeq()
    {
        using var log = Open(segmentBytes: 4096);
        log.Begin(1);
        foreach (var chunk in Events(1, 300).Chunk(3))
        {
            log.Append(Records(chunk));
        }

        var segments = log.SegmentFiles;
        var firstSealedLast = log.OldestSealedLastSeq!.Value;

        Assert.Equal(0, log.RecycleThrough(firstSealedLast - 1));
        Assert.Equal(1, log.RecycleThrough(firstSealedLast));
        Assert.False(File.Exists(segments[0]));
        Assert.Equal(firstSealedLast + 1, log.FirstSeq);
        Assert.Throws<ArgumentOutOfRangeException>(() => log.ReadFrom(1).ToList());

        log.RecycleThrough(long.MaxValue);

        Assert.Equal([segments[^1]], log.SegmentFiles);
        Assert.Equal(300, log.LastSeq);
    }

    [Fact]
    public async Task Engine_DuckDbWalLostAfterKill_LogReplaysEveryAcknowledgedEventAndSegmentsWereRecycledOnlyBehindCheckpoints()
    {
        var data = _directory.Path;
        var databasePath = Path.Combine(data, "tradestore.duckdb");
        var acknowledged = new Dictionary<string, Trade>();
        var recycled = false;
        using (var database = DuckDbDatabase.Open(databasePath))
        {
            DuckDbSchema.MigrateToLatest(database);
            using var log = JournalLog.Open(LogPath, new JournalLogOptions { SegmentBytes = 16 * 1024 });
            // Holds the applier inside its last notification, so no checkpoint writes the database file while it is copied.
            using var hold = new HoldAtSeq(1500);
            using var meters = new TestMeters();
            // DuckDB commits unspaced, so segments are recycled while the 1,500 commands run.
            var engine = new WriteEngine(database, new StateIndex(), new EngineOptions { ApplyInterval = TimeSpan.Zero }, meters.Factory, [hold], log: log);
            engine.Start();
            for (var i = 0; i < 1500; i++)
            {
                var result = await engine.SubmitAsync(new CreateTrade($"W{i}", "ACC", "AAPL", Side.Buy, 10, 1), TestContext.Current.CancellationToken);
                acknowledged[$"W{i}"] = result.Trade!;
                recycled |= ParseFirstSeq(log.SegmentFiles[0]) > 1;
            }

            // A kill: no clean stop. Then DuckDB loses its whole WAL (what a truncated WAL does to the last commits).
            Assert.True(hold.Reached.Wait(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
            RunningLogCopy.CopyFiles(LogPath, Path.Combine(data, "killed", JournalLog.DirectoryName));
            File.Copy(databasePath, Path.Combine(data, "killed", "tradestore.duckdb"));
            hold.Release.Set();
            await engine.DisposeAsync();
        }

        Assert.True(recycled, "no segment was recycled: the test needs more events than the segments hold");
        using var killed = DuckDbDatabase.Open(Path.Combine(data, "killed", "tradestore.duckdb"));
        var index = new StateIndex();
        using var restartMeters = new TestMeters();
        await using var restarted = new WriteEngine(killed, index, new EngineOptions(), restartMeters.Factory);

        restarted.Start();

        Assert.Equal(1500, restarted.LastSeq);
        Assert.All(acknowledged, pair => Assert.Equal(pair.Value, index.Find(pair.Key)));
        using var connection = killed.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM trade_events";
        Assert.Equal(1500L, Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The append that fills a segment is durable before the log rolls over to the next one; a roll that then fails (no
    /// room for the new file: here a folder at each name it could take) must not make that append look unwritten. It was
    /// thrown, the writer refused the command as 500 storage-failure ("nothing of it was kept. Retry.") while the next
    /// start replayed it, and every later write was refused too (its seq no longer followed the log's).
    /// </summary>
    [Fact]
    public async Task Engine_RollOverFails_TheWriteThatFilledTheSegmentStandsAndLaterOnesAreRefusedWithNothingWrittenUntilItSucceeds()
    {
        var ct = TestContext.Current.CancellationToken;
        var databasePath = Path.Combine(_directory.Path, "tradestore.duckdb");
        var blocked = Enumerable.Range(2, 2000).Select(seq => Path.Combine(LogPath, $"{seq:D20}.log")).ToList();
        var acknowledged = new List<string>();
        CommandResult refused;
        using (var database = DuckDbDatabase.Open(databasePath))
        {
            DuckDbSchema.MigrateToLatest(database);
            using var log = JournalLog.Open(LogPath, new JournalLogOptions { SegmentBytes = 16 * 1024 });
            using var meters = new TestMeters();
            await using var engine = new WriteEngine(database, new StateIndex(), new EngineOptions(), meters.Factory, log: log);
            engine.Start();
            blocked.ForEach(path => Directory.CreateDirectory(path));

            var i = 0;
            while (true)
            {
                var result = await engine.SubmitAsync(Keyed($"R{i}"), ct);
                if (!result.Succeeded)
                {
                    refused = result;
                    break;
                }

                acknowledged.Add($"R{i++}");
                Assert.True(i < 1000, "no roll-over was met");
            }

            Assert.Equal(CommandErrorKind.StorageFailure, refused.Error!.Kind);
            Assert.NotNull(log.LastRollError);
            Assert.Equal(engine.LastSeq, log.LastSeq); // the refused command is not in the log
            Assert.Single(log.SegmentFiles);

            // Room again: the roll is made before the next append, and the refused command, sent again with its key, is new.
            blocked.ForEach(path => Directory.Delete(path));
            var again = await engine.SubmitAsync(Keyed($"R{i}"), ct);
            Assert.True(again.Succeeded && !again.Replayed, again.Error?.Message);
            acknowledged.Add($"R{i}");
            Assert.True((await engine.SubmitAsync(Keyed("after"), ct)).Succeeded);
            acknowledged.Add("after");
            Assert.Equal(2, log.SegmentFiles.Count);
        }

        using var reopened = DuckDbDatabase.Open(databasePath);
        using var restartMeters = new TestMeters();
        var index = new StateIndex();
        await using var restarted = new WriteEngine(reopened, index, new EngineOptions(), restartMeters.Factory);
        restarted.Start();
        Assert.Equal(acknowledged.Count, restarted.LastSeq);
        Assert.All(acknowledged, id => Assert.Equal(1, index.Find(id)?.Version));

        static CreateTrade Keyed(string id) => new(id, "ACC", "AAPL", Side.Buy, 10, 1) { IdempotencyKey = $"k-{id}" };
    }

    [Fact]
    public async Task Engine_SealedSegmentThatCannotBeDeleted_DuckDbKeepsApplyingEveryLaterWrite()
    {
        var databasePath = Path.Combine(_directory.Path, "tradestore.duckdb");
        using var database = DuckDbDatabase.Open(databasePath);
        DuckDbSchema.MigrateToLatest(database);
        using var log = JournalLog.Open(LogPath, new JournalLogOptions { SegmentBytes = 16 * 1024 });
        using var meters = new TestMeters();
        // Writes are acknowledged (and given to DuckDB) only once the gate opens, so segments roll while none is recycled.
        var gate = new GatedReplication();
        await using var engine = new WriteEngine(database, new StateIndex(), new EngineOptions { ApplyInterval = TimeSpan.Zero }, meters.Factory, log: log)
        {
            Replication = gate,
        };
        engine.Start();
        var held = Enumerable.Range(0, 300).Select(i => engine.SubmitAsync(new CreateTrade($"H{i}", "ACC", "AAPL", Side.Buy, 10, 1), TestContext.Current.CancellationToken).AsTask()).ToList();
        await Eventually.TrueAsync(() => engine.LastSeq == 300, TimeSpan.FromSeconds(30), () => $"last seq {engine.LastSeq}");
        var oldest = log.SegmentFiles[0];
        Assert.True(log.SegmentFiles.Count > 1, $"{log.SegmentFiles.Count} segments");

        // A segment the process cannot delete (as on a failing or read-only disk, or a folder an operator removed): here
        // a folder of its name, which File.Delete refuses. Its records are read already; only the recycle meets it.
        File.Delete(oldest);
        Directory.CreateDirectory(oldest);
        File.WriteAllText(Path.Combine(oldest, "keep"), "x");
        gate.Open();
        Assert.All(await Task.WhenAll(held), r => Assert.True(r.Succeeded));
        for (var i = 0; i < 50; i++)
        {
            Assert.True((await engine.SubmitAsync(new CreateTrade($"L{i}", "ACC", "AAPL", Side.Sell, 10, 1), TestContext.Current.CancellationToken)).Succeeded);
        }

        // Before the fix the failed deletion ended the applier: DuckDB stayed behind while writes were still acknowledged.
        Assert.True(engine.WaitApplied(350, TimeSpan.FromSeconds(30)), $"DuckDB holds up to seq {engine.AppliedSeq} of 350");
        Assert.True(Directory.Exists(oldest));
        Assert.Contains(oldest, log.SegmentFiles);
    }

    [Fact]
    public async Task Engine_JournalFolderRemovedWhileWriting_NextWriteRefusedEngineFailsAndACleanStopKeepsEveryAcknowledgedEvent()
    {
        await using var harness = EngineHarness.Start();
        for (var i = 0; i < 20; i++)
        {
            Assert.True((await harness.Submit(new CreateTrade($"B{i}", "ACC", "AAPL", Side.Buy, 10, 1))).Succeeded);
        }

        var journal = JournalLog.DirectoryFor(harness.DatabaseAsIs.Path);
        Directory.Delete(journal, recursive: true);

        // Before the fix this was acknowledged into the deleted segment, and further writes until the segment rolled.
        var after = await harness.Submit(new CreateTrade("After", "ACC", "AAPL", Side.Buy, 10, 1));
        var failure = await harness.Engine.Failure.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.False(after.Succeeded);
        Assert.Contains("was deleted while the journal log was writing it", failure.Message);
        Assert.Equal(20, harness.Engine.LastSeq);

        // The clean stop gives DuckDB every acknowledged event; the next start begins a new log after it.
        await harness.RestartAsync();
        Assert.Equal(20, harness.Engine.LastSeq);
        Assert.All(Enumerable.Range(0, 20), i => Assert.NotNull(harness.Index.Find($"B{i}")));
        Assert.Null(harness.Index.Find("After"));
        Assert.True(Directory.Exists(journal));
        Assert.True((await harness.Submit(new CreateTrade("Later", "ACC", "AAPL", Side.Buy, 10, 1))).Succeeded);
        Assert.Equal(21, harness.Engine.LastSeq);
    }

    /// <summary>Every group waits until <see cref="Open"/>, then none does: a leader whose followers were away, standing in for them.</summary>
    private sealed class GatedReplication : IJournalReplication
    {
        private readonly TaskCompletionSource<bool> _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long Term => 1;

        public void Appended(IReadOnlyList<LogRecord> records)
        {
        }

        public Task<bool> WaitReplicatedAsync(long seq, long term) => _gate.Task;

        public void Open() => _gate.TrySetResult(true);
    }

    private sealed class HoldAtSeq(long seq) : ICommitObserver, IDisposable
    {
        public ManualResetEventSlim Reached { get; } = new(false);

        public ManualResetEventSlim Release { get; } = new(false);

        public void OnCommitted(IReadOnlyList<TradeEvent> events)
        {
            if (events[^1].Seq >= seq)
            {
                Reached.Set();
                Release.Wait(TimeSpan.FromSeconds(60));
            }
        }

        public void Dispose()
        {
            Release.Set();
            Reached.Dispose();
            Release.Dispose();
        }
    }

    /// <summary>Writes records 1-10 and flips a byte inside record 5; returns the segment and where record 5 starts.</summary>
    private (string Segment, long OffsetOfSeq5) WriteTenRecordsAndDamageTheFifth()
    {
        string segment;
        long offsetOfSeq5;
        using (var log = Open())
        {
            log.Begin(1);
            log.Append(Records(Events(1, 4)));
            segment = log.SegmentFiles[^1];
            // Where record 5 starts: after the header and records 1-4 (the file itself is longer: it is pre-zeroed).
            offsetOfSeq5 = SegmentHeaderBytes + Events(1, 4).Sum(e => Framed(e).Length);
            log.Append(Records(Events(5, 6)));
        }

        LogFileDamage.FlipByte(segment, offsetOfSeq5 + 40);
        return (segment, offsetOfSeq5);
    }

    /// <summary>A log read as it is, whose reader cancels <paramref name="cancel"/> once <paramref name="records"/> records were read (a Ctrl-C meanwhile).</summary>
    private sealed class CancelAfter(IJournalLogView log, int records, CancellationTokenSource cancel) : IJournalLogView
    {
        public int Read { get; private set; }

        public string Directory => log.Directory;

        public bool WasCreated => log.WasCreated;

        public bool IsEmpty => log.IsEmpty;

        public long FirstSeq => log.FirstSeq;

        public long LastSeq => log.LastSeq;

        public IReadOnlyList<string> SegmentFiles => log.SegmentFiles;

        public IEnumerable<LogRecord> ReadFrom(long seq)
        {
            foreach (var record in log.ReadFrom(seq))
            {
                if (Read++ == records)
                {
                    cancel.Cancel();
                }

                yield return record;
            }
        }
    }

    private JournalLog Open(long segmentBytes = JournalLogOptions.DefaultSegmentBytes) =>
        JournalLog.Open(LogPath, new JournalLogOptions { SegmentBytes = segmentBytes });

    private static long ParseFirstSeq(string segment) => long.Parse(Path.GetFileNameWithoutExtension(segment), System.Globalization.CultureInfo.InvariantCulture);

    private static List<TradeEvent> Events(long firstSeq, int count) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var seq = firstSeq + i;
            var state = new Trade($"T{seq}", "ACC-1", "AAPL", seq % 2 == 0 ? Side.Buy : Side.Sell, 100.5m, 10.125m, seq % 3 == 0 ? 50m : 0m,
                seq % 3 == 0 ? 506.25m : 0m, seq % 3 == 0 ? TradeStatus.PartiallyFilled : TradeStatus.New, seq % 5 == 0 ? null : "XNAS",
                seq % 7 == 0 ? "trader-é" : null, At, 1 + (seq % 3 == 0 ? 1 : 0), seq, At, At.AddMilliseconds(seq));
            return new TradeEvent(seq, seq % 3 == 0 ? TradeEventType.Fill : TradeEventType.Create, state,
                seq % 3 == 0 ? 50m : null, seq % 3 == 0 ? 10.125m : null, At.AddMilliseconds(seq), seq % 4 == 0 ? $"key-{seq}" : null);
        })];

    private static LogRecord[] Records(IEnumerable<TradeEvent> events) => [.. events.Select(e => LogRecord.Create(e.Seq, 0, EventCodec.Encode(e)))];

    private static byte[] Framed(TradeEvent e)
    {
        var record = LogRecord.Create(e.Seq, 0, EventCodec.Encode(e));
        var bytes = new byte[LogRecordFormat.FramedSize(record.Payload.Length)];
        LogRecordFormat.Write(record, bytes);
        return bytes;
    }

    /// <summary>Writes events 1..<paramref name="events"/> in groups of 3 into 4 KiB segments, closes the log, and returns its segment files.</summary>
    private IReadOnlyList<string> WriteInSmallSegments(int events)
    {
        using var log = Open(segmentBytes: 4096);
        log.Begin(1);
        foreach (var chunk in Events(1, events).Chunk(3))
        {
            log.Append(Records(chunk));
        }

        return log.SegmentFiles;
    }

    /// <summary>Where the records of <paramref name="segment"/> end: its seal, if it has one, starts there.</summary>
    private static long SealOffset(string segment)
    {
        var bytes = ReadShared(segment);
        var offset = SegmentHeaderBytes;
        while (LogRecordFormat.TryRead(bytes.AsSpan(offset), out var size) is not null)
        {
            offset += size;
        }

        return offset;
    }

    private static byte[] ReadShared(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static void AppendBytes(string file, byte[] bytes)
    {
        using var stream = new FileStream(file, FileMode.Append);
        stream.Write(bytes);
    }

    private Dictionary<string, string> Snapshot() => Directory.GetFiles(_directory.Path, "*", SearchOption.AllDirectories)
        .ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
}
