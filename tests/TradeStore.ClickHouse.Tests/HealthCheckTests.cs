using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using TradeStore.ClickHouse.Sync;
using TradeStore.ClickHouse.Tests.Support;
using TradeStore.Core.Options;

namespace TradeStore.ClickHouse.Tests;

public sealed class HealthCheckTests
{
    [Fact]
    public async Task Check_ServerAnswersButSyncLagsOverThreshold_DegradedNamingTheLag()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("health", migrate: false);
        // A generous HealthTimeout: the first SELECT 1 (a new connection, code not yet compiled) took over the default 1 s
        // at a load average of 35 on 2 cores, and the caught-up check then read degraded for a reason this test is not about.
        var options = Options.Create(new ClickHouseOptions { Url = ch.Url, HealthTimeout = TimeSpan.FromSeconds(15), Sync = new SyncOptions { DegradedLag = TimeSpan.FromSeconds(5) } });
        var signal = new SyncSignal();
        var state = new ClickHouseSyncState(signal, options, TimeProvider.System);
        state.OnStarted(500);
        var check = new ClickHouseHealthCheck(ClickHouseClient.Create(options.Value), options, state);
        var context = new HealthCheckContext { Registration = new HealthCheckRegistration("clickhouse", check, HealthStatus.Degraded, null) };

        var caughtUp = await check.CheckHealthAsync(context, TestContext.Current.CancellationToken);
        signal.Observe(100, DateTimeOffset.UtcNow.AddMinutes(-1));
        var lagging = await check.CheckHealthAsync(context, TestContext.Current.CancellationToken);
        state.OnFailure("timeout", "ClickHouse did not answer within 10 s", TimeSpan.FromSeconds(1), 500);
        var failing = await check.CheckHealthAsync(context, TestContext.Current.CancellationToken);

        Assert.True(caughtUp.Status == HealthStatus.Healthy, caughtUp.Description);
        Assert.Equal(HealthStatus.Degraded, lagging.Status);
        Assert.Contains("sync lags 60", lagging.Description);
        Assert.Contains("100 events behind", lagging.Description);
        Assert.Equal(HealthStatus.Degraded, failing.Status);
        Assert.Contains("did not answer within 10 s", failing.Description);
    }

    /// <summary>
    /// A cluster follower's sync does not run (only the leader writes to ClickHouse) while its journal grows with the
    /// leader's. Before, readiness held that journal against a checkpoint nothing moved: every follower read `degraded`
    /// ("the sync lags … s") within DegradedLag of its first event, and its backlog gauges grew without end, so
    /// TradeStoreClickHouseDegraded, TradeStoreSyncLagHigh and TradeStoreSyncStalled fired on every healthy follower (soak).
    /// </summary>
    [Fact]
    public async Task Check_SyncNotRunningOnThisNode_HealthyWhileClickHouseAnswersAndBacklogGaugesReadZero()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("health-follower", migrate: false);
        var options = Options.Create(new ClickHouseOptions { Url = ch.Url, HealthTimeout = TimeSpan.FromSeconds(15), Sync = new SyncOptions { DegradedLag = TimeSpan.FromSeconds(5) } });
        var signal = new SyncSignal();
        var state = new ClickHouseSyncState(signal, options, TimeProvider.System);
        var check = new ClickHouseHealthCheck(ClickHouseClient.Create(options.Value), options, state);
        var context = new HealthCheckContext { Registration = new HealthCheckRegistration("clickhouse", check, HealthStatus.Degraded, null) };
        // The follower's journal holds 5,000 events recorded a minute ago; no daemon here ever synced one.
        signal.Observe(5_000, DateTimeOffset.UtcNow.AddMinutes(-1));

        var follower = await check.CheckHealthAsync(context, TestContext.Current.CancellationToken);
        var (behind, pendingAge) = (state.EventsBehind(), state.PendingAge());
        state.OnStarted(500);
        var leading = await check.CheckHealthAsync(context, TestContext.Current.CancellationToken);

        Assert.True(follower.Status == HealthStatus.Healthy, follower.Description);
        Assert.Contains("answered SELECT 1; " + ClickHouseHealthCheck.NotRunningHere, follower.Description);
        Assert.Equal(0, behind);
        Assert.Equal(0, pendingAge);
        // Once the daemon runs here (the node leads), the same backlog is its own and counts again.
        Assert.Equal(HealthStatus.Degraded, leading.Status);
        Assert.Contains("5000 events behind", leading.Description);
        Assert.Equal(5_000, state.EventsBehind());
    }
}
