using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using TradeStore.Core.Trades;
using TradeStore.Storage;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests;

/// <summary>
/// The host's start-up with a damaged journal log tail (docs/write-path.md): it gives the log DuckDB's end, so under
/// the default fsync durability a tail whose cut would drop events DuckDB holds stops start-up and changes nothing,
/// while with <c>Storage:Durability=os</c> the cut is accepted and DuckDB's events are copied back into the log.
/// </summary>
public sealed class JournalStartupHostTests : IDisposable
{
    private const int SegmentHeaderBytes = 32;
    private static readonly DateTimeOffset At = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _data = new("journal-startup");

    public void Dispose() => _data.Dispose();

    private string LogPath => JournalLog.DirectoryFor(_data.DatabasePath);

    [Fact]
    public async Task Host_FsyncDamagedTailBelowDuckDbsEnd_RefusesToStartNamingFileAndOffsetAndCutsNothing()
    {
        var (segment, offsetOfSeq6) = StoreWithDamagedTail();
        var before = Snapshot(LogPath);

        var error = await Assert.ThrowsAsync<JournalLogCorruptException>(() => TestHostFactory.StartAsync(_data.Path));

        Assert.Contains($"{segment} at byte offset {offsetOfSeq6}", error.Message, StringComparison.Ordinal);
        Assert.Contains("DuckDB holds events up to seq 8", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(LogPath));
    }

    [Fact]
    public async Task Host_OsDamagedTailBelowDuckDbsEnd_CutAndEveryEventDuckDbHoldsKept()
    {
        StoreWithDamagedTail();
        var os = new Dictionary<string, string> { ["TRADESTORE__STORAGE__DURABILITY"] = "os" };

        await using (var app = await TestHostFactory.StartAsync(_data.Path, os))
        {
            var queries = app.Services.GetRequiredService<ITradeQueries>();
            Assert.NotNull(queries.GetTrade("T8"));
            await app.StopAsync(TestContext.Current.CancellationToken);
        }

        Assert.Single(Directory.GetFiles(LogPath, "*.torn-*"));
        using var log = JournalLog.Open(LogPath, new JournalLogOptions());
        Assert.Equal(8, log.LastSeq);
    }

    /// <summary>DuckDB holds seq 1..8; the log held 1..10, then random bytes overwrote it from seq 6 on. Returns the segment and seq 6's offset.</summary>
    private (string Segment, long Offset) StoreWithDamagedTail()
    {
        var events = Enumerable.Range(1, 10).Select(seq =>
        {
            var recorded = At.AddMilliseconds(seq);
            var state = new Trade($"T{seq}", "ACC", "SYM", Side.Buy, 10m, 2m, 0m, 0m, TradeStatus.New, null, null, recorded, 1, seq, recorded, recorded);
            return new TradeEvent(seq, TradeEventType.Create, state, null, null, recorded, null);
        }).ToList();
        string segment;
        using (var log = JournalLog.Open(LogPath, new JournalLogOptions()))
        {
            log.Begin(1);
            log.Append([.. events.Select(e => LogRecord.Create(e.Seq, 0, EventCodec.Encode(e)))]);
            segment = log.SegmentFiles[^1];
        }

        using (var database = DuckDbDatabase.Open(_data.DatabasePath))
        {
            DuckDbSchema.MigrateToLatest(database);
            using var writer = new JournalBatchWriter(database);
            writer.Write(events[..8]);
        }

        var offset = SegmentHeaderBytes + events[..5].Sum(e => LogRecordFormat.FramedSize(EventCodec.Encode(e).Length));
        var bytes = File.ReadAllBytes(segment);
        var garbage = RandomNumberGenerator.GetBytes(bytes.Length - offset);
        garbage[0] |= 1;
        garbage.CopyTo(bytes, offset);
        File.WriteAllBytes(segment, bytes);
        return (segment, offset);
    }

    private static Dictionary<string, string> Snapshot(string directory) => Directory.GetFiles(directory, "*", SearchOption.AllDirectories)
        .ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
}
