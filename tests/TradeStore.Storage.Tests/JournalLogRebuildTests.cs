using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Recovery;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// <c>recover --from duckdb</c> stopped with Ctrl-C while it writes the new journal log: before, the token was looked at
/// only before the rebuild started, so a Ctrl-C during it was not seen (the rebuild finished, exit 0, no line). Now the
/// writing stops at its next chunk, the half-written <c>journal.rebuilt/</c> is removed and the damaged log has not moved:
/// the data directory is byte for byte as it was, and a rebuild run again completes.
/// </summary>
public sealed class JournalLogRebuildTests : IAsyncLifetime
{
    private const int Trades = 2_500;
    private const long DuckDbSeq = 10;
    private readonly TempDirectory _copy = new("rebuild-cancel");
    private string _databasePath = null!;

    public async ValueTask InitializeAsync()
    {
        await using var harness = EngineHarness.Start();
        foreach (var batch in Enumerable.Range(1, Trades).Chunk(250))
        {
            var results = await Task.WhenAll(batch.Select(i => harness.Submit(new CreateTrade($"R-{i:00000}", "ACC-1", "AAPL", Side.Buy, 10m, 1.5m)).AsTask()));
            Assert.All(results, r => Assert.True(r.Succeeded, r.Error?.Message));
        }

        _databasePath = harness.CopyFilesAsIfKilled(_copy.Path);
        // DuckDB behind the log (as after a kill with DuckDB's WAL lost): the log's records after seq 10 are all it has of them.
        Execute($"DELETE FROM trade_events WHERE seq > {DuckDbSeq}; CHECKPOINT");

        // Record seq 2, which DuckDB holds, damaged: serve stops with exit 5, and the log can be rebuilt from DuckDB.
        var segment = Directory.GetFiles(JournalLog.DirectoryFor(_databasePath), "*.log").Order(StringComparer.Ordinal).First();
        var bytes = await File.ReadAllBytesAsync(segment, TestContext.Current.CancellationToken);
        var second = 32 + ((24 + BitConverter.ToInt32(bytes, 32) + 7) & ~7);
        Assert.Equal(2, BitConverter.ToInt64(bytes, second + 8));
        LogFileDamage.FlipByte(segment, second + 30);
    }

    public ValueTask DisposeAsync()
    {
        _copy.Dispose();
        return ValueTask.CompletedTask;
    }

    [Fact]
    public void Apply_CancelledAfterTheFirstChunkWasWritten_RemovesTheNewLogAndLeavesTheDirectoryAsItWas()
    {
        var plan = Plan(TestContext.Current.CancellationToken);
        Assert.NotNull(plan.Damage);
        Assert.Null(plan.Refusal);
        Assert.Equal(Trades - DuckDbSeq, plan.Kept.Count);
        var before = DataDirectorySnapshot.Take(_copy.Path);
        using var cancel = new CancellationTokenSource();
        var written = new List<int>();

        Assert.ThrowsAny<OperationCanceledException>(() => plan.Apply(_databasePath, new JournalLogOptions(), cancel.Token, count =>
        {
            written.Add(count);
            cancel.Cancel(); // the writing has started: one chunk is in journal.rebuilt/
        }));

        Assert.Equal([1000], written); // stopped at the next chunk, not after all of them
        Assert.False(Directory.Exists(JournalLog.DirectoryFor(_databasePath) + ".rebuilt"));
        before.AssertUnchanged();

        // Nothing left in the way: run again, it completes, and the new log reads as serve will read it.
        var folder = plan.Apply(_databasePath, new JournalLogOptions(), TestContext.Current.CancellationToken);
        Assert.True(Directory.Exists(Path.Combine(folder, JournalLog.DirectoryName)));
        var check = JournalLog.Check(JournalLog.DirectoryFor(_databasePath), DurabilityMode.Fsync, DuckDbSeq, TestContext.Current.CancellationToken);
        Assert.Equal(DuckDbSeq + 1, check.FirstSeq);
        Assert.Equal(Trades, check.LastSeq);
    }

    /// <summary>
    /// A rebuild killed (or a power cut) between its two moves: the damaged log is in <c>damaged-&lt;time&gt;/</c>, the new one
    /// still in <c>journal.rebuilt/</c>, and <c>journal/</c> is missing. Before, <c>serve</c> took that for a directory without a
    /// log and began a new one after DuckDB's end (warning 2030): the acknowledged events the new log held past DuckDB's end
    /// were never replayed, and their seqs went to new writes; <c>recover --from duckdb</c> run again said the log read whole.
    /// Now the start (and <c>verify</c>) stops with exit 5 naming <c>journal.rebuilt/</c>, creating nothing, and a plan run again
    /// moves the new log into place.
    /// </summary>
    [Fact]
    public void Apply_StoppedBetweenItsTwoMoves_StartRefusesAndThePlanRunAgainMovesTheNewLogIntoPlace()
    {
        Plan(TestContext.Current.CancellationToken).Apply(_databasePath, new JournalLogOptions(), TestContext.Current.CancellationToken);
        var journal = JournalLog.DirectoryFor(_databasePath);
        var rebuilt = journal + JournalLog.RebuiltSuffix;
        Directory.Move(journal, rebuilt); // what the kill between the two moves leaves

        var atStart = Assert.Throws<JournalLogCorruptException>(() => JournalLog.Open(journal, new JournalLogOptions(), DuckDbSeq));
        Assert.Equal(rebuilt, atStart.File);
        Assert.Contains("recover --from duckdb", atStart.Reason);
        Assert.False(Directory.Exists(journal));
        Assert.Throws<JournalLogCorruptException>(() => JournalLog.Check(journal, DurabilityMode.Fsync, DuckDbSeq, TestContext.Current.CancellationToken));

        var plan = Plan(TestContext.Current.CancellationToken);
        Assert.True(plan.FinishesEarlierRebuild);
        Assert.Null(plan.Refusal);
        Assert.Equal(DuckDbSeq + 1, plan.RebuiltFirstSeq);
        Assert.Equal(Trades, plan.RebuiltLastSeq);
        // Never the rebuild's own path, which would remove journal.rebuilt/ as a half-written new log.
        Assert.Throws<InvalidOperationException>(() => plan.Apply(_databasePath, new JournalLogOptions(), TestContext.Current.CancellationToken));
        Assert.True(Directory.Exists(rebuilt));

        plan.FinishEarlierRebuild(_databasePath, DurabilityMode.Fsync);

        Assert.False(Directory.Exists(rebuilt));
        var check = JournalLog.Check(journal, DurabilityMode.Fsync, DuckDbSeq, TestContext.Current.CancellationToken);
        Assert.Equal(DuckDbSeq + 1, check.FirstSeq);
        Assert.Equal(Trades, check.LastSeq);
    }

    /// <summary>
    /// Before, the rebuild kept the log's records after DuckDB's end without asking whether the log was this database's:
    /// a log of another history (here DuckDB's event at its last seq recorded at another time, as another store's would
    /// be) became the new log, and the next start replayed its events into DuckDB after DuckDB's own.
    /// </summary>
    [Fact]
    public void Plan_LogOfAnotherHistory_RefusedNamingBothEventsAndKeepsNothing()
    {
        Execute($"UPDATE trade_events SET recorded_at = recorded_at + INTERVAL 1 SECOND WHERE seq = {DuckDbSeq}; CHECKPOINT");

        var plan = Plan(TestContext.Current.CancellationToken);

        Assert.NotNull(plan.Damage);
        Assert.Empty(plan.Kept);
        Assert.NotNull(plan.Refusal);
        Assert.Contains($"at seq {DuckDbSeq} the journal log holds R-", plan.Refusal);
        Assert.Contains(" v1 (create, recorded ", plan.Refusal);
        Assert.Contains("two different histories", plan.Refusal);
        Assert.Throws<InvalidOperationException>(() => plan.Apply(_databasePath, new JournalLogOptions(), TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Plan_Cancelled_ThrowsAndChangesNothing()
    {
        var before = DataDirectorySnapshot.Take(_copy.Path);
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => Plan(cancel.Token));

        before.AssertUnchanged();
    }

    private JournalLogRebuild Plan(CancellationToken cancellationToken)
    {
        using var database = DuckDbDatabase.Open(_databasePath);
        var plan = JournalLogRebuild.Plan(database, DurabilityMode.Fsync, cancellationToken);
        Assert.Equal(DuckDbSeq, plan.DuckDbSeq);
        return plan;
    }

    private void Execute(string sql)
    {
        using var database = DuckDbDatabase.Open(_databasePath);
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
