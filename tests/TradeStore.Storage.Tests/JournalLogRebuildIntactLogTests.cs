using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Recovery;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// <c>recover --from duckdb</c> on a log whose every record is intact but that <c>serve</c> still refuses with exit 5 for how
/// it meets DuckDB. Before, the plan looked only at the records (<see cref="JournalLog.Check"/>): it printed "the journal log
/// reads whole, as serve reads it at start-up … nothing to rebuild" and exited 0, while <c>serve</c> kept stopping with exit 5
/// and advising this very command. Now the plan also asks the start's reconciliation (<see cref="JournalLogReplay.Plan"/>) and
/// refuses (exit 1), naming what <c>serve</c> names and changing nothing.
/// </summary>
public sealed class JournalLogRebuildIntactLogTests : IAsyncLifetime
{
    private const long DuckDbSeq = 10;
    private readonly TempDirectory _copy = new("rebuild-intact");
    private string _databasePath = null!;

    private string JournalDirectory => JournalLog.DirectoryFor(_databasePath);

    public async ValueTask InitializeAsync()
    {
        await using var harness = EngineHarness.Start();
        var results = await Task.WhenAll(Enumerable.Range(1, 50)
            .Select(i => harness.Submit(new CreateTrade($"I-{i:000}", "ACC-1", "AAPL", Side.Buy, 10m, 1.5m)).AsTask()));
        Assert.All(results, r => Assert.True(r.Succeeded, r.Error?.Message));
        _databasePath = harness.CopyFilesAsIfKilled(_copy.Path);
        // DuckDB behind the log, as after a kill: the log's records after seq 10 are all there is of them.
        Execute($"DELETE FROM trade_events WHERE seq > {DuckDbSeq}; CHECKPOINT");
    }

    public ValueTask DisposeAsync()
    {
        _copy.Dispose();
        return ValueTask.CompletedTask;
    }

    [Fact]
    public void Plan_IntactLogOfAnotherHistory_RefusedAsServeRefusesIt()
    {
        // DuckDB's event at its last seq recorded at another time, as another store's would be: serve stops with "two different histories".
        Execute($"UPDATE trade_events SET recorded_at = recorded_at + INTERVAL 1 SECOND WHERE seq = {DuckDbSeq}; CHECKPOINT");
        var before = DataDirectorySnapshot.Take(_copy.Path);

        var plan = Plan();

        Assert.NotNull(plan.Damage);
        Assert.Contains("two different histories", plan.Damage.Reason);
        Assert.NotNull(plan.Refusal);
        Assert.Contains("every record of the log is intact", plan.Refusal);
        Assert.Empty(plan.Kept);
        Assert.Throws<InvalidOperationException>(() => plan.Apply(_databasePath, new JournalLogOptions(), TestContext.Current.CancellationToken));
        before.AssertUnchanged();
    }

    [Fact]
    public void Plan_JournalFolderWithoutSegmentsWhileDuckDbHoldsEvents_RefusedAsServeRefusesIt()
    {
        // The segments removed by hand: which acknowledged events followed DuckDB's end cannot be told, and serve stops with exit 5.
        foreach (var segment in Directory.GetFiles(JournalDirectory, "*" + JournalLog.SegmentExtension))
        {
            File.Delete(segment);
        }

        var before = DataDirectorySnapshot.Take(_copy.Path);

        var plan = Plan();

        Assert.NotNull(plan.Damage);
        Assert.Contains("holds no segment", plan.Damage.Reason);
        Assert.NotNull(plan.Refusal);
        Assert.Empty(plan.Kept);
        Assert.Throws<InvalidOperationException>(() => plan.Apply(_databasePath, new JournalLogOptions(), TestContext.Current.CancellationToken));
        before.AssertUnchanged();
    }

    [Fact]
    public void Plan_IntactLogDuckDbCanReplay_NothingToRebuild()
    {
        var plan = Plan();

        Assert.Null(plan.Damage);
        Assert.Null(plan.Refusal);
    }

    private JournalLogRebuild Plan()
    {
        using var database = DuckDbDatabase.Open(_databasePath);
        var plan = JournalLogRebuild.Plan(database, DurabilityMode.Fsync, TestContext.Current.CancellationToken);
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
