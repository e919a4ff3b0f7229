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
}
