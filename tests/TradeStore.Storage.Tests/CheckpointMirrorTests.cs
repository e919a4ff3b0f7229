using Microsoft.Extensions.Time.Testing;
using TradeStore.Storage.Migrations;
using TradeStore.Storage.Sync;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// A sink's checkpoint reaches DuckDB's <c>sync_checkpoints</c> at most once per interval and off the sink's path, and a
/// stop writes the last one: what <c>sync status</c> and the next start read.
/// </summary>
public sealed class CheckpointMirrorTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _dir = new("mirror");
    private readonly DuckDbDatabase _database;
    private readonly SyncCheckpoints _checkpoints;
    private readonly FakeTimeProvider _clock = new();
    private readonly List<(Exception Error, long Checkpoint)> _failures = [];

    public CheckpointMirrorTests()
    {
        _database = DuckDbDatabase.Open(_dir.DatabasePath);
        DuckDbSchema.MigrateToLatest(_database);
        _checkpoints = new SyncCheckpoints(_database);
    }

    [Fact]
    public async Task Offer_AtMostOncePerInterval_ThenFlushWritesTheLast()
    {
        var mirror = new CheckpointMirror(_checkpoints, SyncCheckpoints.Redis, _clock, (ex, seq) => _failures.Add((ex, seq)));

        mirror.Offer(10);
        await Eventually.TrueAsync(() => mirror.Recorded == 10, Patience, () => $"recorded {mirror.Recorded}");
        Assert.Equal(10, _checkpoints.Get(SyncCheckpoints.Redis));

        // Within the interval nothing more is written...
        mirror.Offer(20);
        mirror.Offer(30);
        await Task.Delay(200, TestContext.Current.CancellationToken);
        Assert.Equal(10, _checkpoints.Get(SyncCheckpoints.Redis));

        // ...after it, the newest offer is.
        _clock.Advance(CheckpointMirror.Interval);
        mirror.Offer(40);
        await Eventually.TrueAsync(() => mirror.Recorded == 40, Patience, () => $"recorded {mirror.Recorded}");
        Assert.Equal(40, _checkpoints.Get(SyncCheckpoints.Redis));

        // A stop writes the last checkpoint at once, whatever the interval.
        mirror.Offer(50);
        mirror.Flush(50);
        Assert.Equal(50, _checkpoints.Get(SyncCheckpoints.Redis));
        Assert.Equal(0, _checkpoints.Get(SyncCheckpoints.ClickHouse));
        Assert.Empty(_failures);
    }

    [Fact]
    public void Flush_UnknownPosition_WritesNothing()
    {
        var mirror = new CheckpointMirror(_checkpoints, SyncCheckpoints.ClickHouse, _clock, (ex, seq) => _failures.Add((ex, seq)));
        mirror.Flush(-1);
        Assert.Equal(-1, mirror.Recorded);
        Assert.DoesNotContain(_checkpoints.All(), c => c.Sink == SyncCheckpoints.ClickHouse);
    }

    [Fact]
    public void Flush_DuckDbClosed_ReportsTheFailureInsteadOfThrowing()
    {
        var mirror = new CheckpointMirror(_checkpoints, SyncCheckpoints.ClickHouse, _clock, (ex, seq) => _failures.Add((ex, seq)));
        _database.Dispose();
        mirror.Flush(7);
        var failure = Assert.Single(_failures);
        Assert.Equal(7, failure.Checkpoint);
        Assert.Equal(-1, mirror.Recorded);
    }

    public void Dispose()
    {
        _database.Dispose();
        _dir.Dispose();
    }
}
