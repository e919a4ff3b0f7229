using Microsoft.Extensions.Logging.Testing;
using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// From the log audit of session 37: with etcd stopped for two minutes each node wrote 140–190 lines (about 300 KB) a
/// minute, most of them event 7002 (a lease renewal failed), one per attempt, each with a 1.5–3.5 KB stack trace; and
/// once etcd answered again nothing said so, nor that the leader, which had logged 7005 "stopped acknowledging writes",
/// acknowledged them again. Now each loop logs its first failure with the stack, paces the repeats (7017 at the 2nd,
/// 4th, 8th, … failure, then once a minute), logs its recovery (7031), and a leader that keeps its term says it
/// acknowledges again (7032).
/// </summary>
public sealed class EtcdAwayLogTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    [Fact]
    public async Task EtcdCutOffPastTheLease_OneRenewalFailureWithItsStack_RepeatsPaced_RecoveryLogged()
    {
        using var relay = new TcpRelay(new Uri(TestServers.Etcd));
        var logger = new FakeLogger<ClusterCoordinator>();
        await using var a = await new ClusterNode("a", relay.Url, _prefix, TimeSpan.FromSeconds(4), logger: logger).StartAsync();
        await Eventually.TrueAsync(() => a.State.IsLeader, Timeout, "a leads");

        relay.Cut();
        await Eventually.TrueAsync(() => !a.State.IsLeader, Timeout, "a stops acknowledging");
        // Renewals go on every 200 ms after each failed one (each bounded by the 1.3 s renewal interval) while cut: waited
        // for until 16 have failed (a fixed 20 s could hold fewer than 8 on a starved machine). Unpaced, 16 are 16 lines.
        await Eventually.MatchAsync(() => Task.FromResult(FailedRenewals(logger.Collector.GetSnapshot())), failed => failed >= 16, TimeSpan.FromMinutes(3),
            "16 lease renewals failed in a row");
        var cut = logger.Collector.GetSnapshot();
        relay.Restore();
        await Eventually.TrueAsync(() => a.State.IsLeader, Timeout, "a leads again");
        await Eventually.TrueAsync(() => logger.Messages(7031).Any(m => m.Contains("(renew the lease) after", StringComparison.Ordinal)), Timeout,
            "a logs that etcd answers its renewals again");

        var failed = FailedRenewals(cut);
        var first = Assert.Single(cut, r => r.Id.Id == 7002);
        Assert.NotNull(first.Exception);
        var repeats = cut.Where(r => r.Id.Id == 7017 && r.Message.Contains("(renew the lease,", StringComparison.Ordinal)).ToList();
        Assert.InRange(repeats.Count, 2, (int)Math.Log2(failed));
        Assert.All(cut.Where(r => r.Id.Id == 7017), r => Assert.Null(r.Exception));
        // Durations as the other log lines write them (Durations.Format): until 2026-12-05 .NET's 00:00:00.2000000.
        Assert.All(repeats, r => Assert.Matches(@" failures in a row over \d+(\.\d+)?(ms|s|m)\): .*; retrying in \d+(\.\d+)?(ms|s|m)\. ", r.Message));
        Assert.Matches(@"\(renew the lease\) after \d+ failure\(s\) over \d+(\.\d+)?(ms|s|m)$", logger.Messages(7031).First(m => m.Contains("(renew the lease) after", StringComparison.Ordinal)));
        // Every loop's first failure carries the stack, and only that one.
        var stacks = cut.Where(r => r.Exception is not null && r.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).ToList();
        Assert.True(stacks.Count <= 4, string.Join("\n", stacks.Select(r => $"[{r.Id.Id}] {r.Message}")));
    }

    /// <summary>The lease renewals that failed in a row: the first (7002) and each one after it (7018, at debug).</summary>
    private static int FailedRenewals(IEnumerable<FakeLogRecord> records) =>
        records.Count(r => r.Id.Id == 7018 && r.Message.Contains("(renew the lease)", StringComparison.Ordinal)) + 1;

    /// <summary>
    /// etcd hangs (a frozen relay) rather than refusing: with a 10 s lease each renewal may hang for the 3.3 s renewal
    /// interval, so when the lease stops being reliable (8 s after the last renewal, 2 s before etcd may expire it) a
    /// renewal is under way. Until 2026-12-05 only the renewal loop noticed a step-down, between renewals: event 7005
    /// came when that renewal gave up, after etcd had expired the lease, or never, when the renewal under way went
    /// through (the clean-clone CI of session 37 saw neither 7005 nor 7032 with a cut relay at load ~20). Now 7005 is
    /// logged while etcd still holds the lease, and when the renewal under way keeps the term, 7032 follows it.
    /// </summary>
    [Fact]
    public async Task EtcdHangsAcrossTheLeaseDeadline_StepDownLoggedBeforeTheLeaseCouldExpire_ReturnLoggedInTheTerm()
    {
        using var relay = new TcpRelay(new Uri(TestServers.Etcd));
        var logger = new FakeLogger<ClusterCoordinator>();
        var ttl = TimeSpan.FromSeconds(10);
        await using var a = await new ClusterNode("a", relay.Url, _prefix, ttl, logger: logger).StartAsync();
        using var observer = new EtcdClusterStore(new ClusterOptions { Etcd = TestServers.Etcd, Node = "observer", KeyPrefix = _prefix, LeaseTtl = ttl });
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            await Eventually.TrueAsync(() => a.State.IsLeader, Timeout, "a leads");
            var (term, lease, steppedDown) = (a.State.Term, a.Coordinator.LeaseId, logger.Messages(7005).Count());
            relay.Freeze();
            await Eventually.TrueAsync(() => logger.Messages(7005).Count() > steppedDown, Timeout, "a logs that it stopped acknowledging");
            // Asked of etcd directly, not through the frozen relay.
            Assert.True(await observer.TimeToLiveAsync(lease, TestContext.Current.CancellationToken) > TimeSpan.Zero,
                "event 7005 came only after etcd had expired a's lease");
            Assert.Contains($"term {term}", logger.Messages(7005).Last(), StringComparison.Ordinal);
            // A renewal that hung says it timed out, not gRPC's "StatusCode=Cancelled" with the client's internal stack. The
            // one under way when 7005 came may still be hanging (on a loaded machine the renewals slip behind the lease
            // clock): its bound ends it within the renewal interval.
            static bool IsRenewalFailure(FakeLogRecord r) => r.Id.Id is 7002 or 7018 && r.Message.Contains("renew", StringComparison.OrdinalIgnoreCase);
            await Eventually.TrueAsync(() => logger.Collector.GetSnapshot().Any(IsRenewalFailure), Timeout, "a logs a renewal that hung");
            var renewal = logger.Collector.GetSnapshot().Last(IsRenewalFailure);
            Assert.IsType<TimeoutException>(renewal.Exception);
            Assert.StartsWith("etcd did not answer within 3333 ms", renewal.Exception.Message, StringComparison.Ordinal);
            relay.Thaw();
            await Eventually.TrueAsync(() => a.State.IsLeader, Timeout, "a acknowledges again");
            if (a.State.Term != term)
            {
                continue; // etcd expired the lease before the renewal reached it (a loaded machine): a new term, try again
            }

            await Eventually.TrueAsync(() => logger.Messages(7032).Any(), Timeout, "a logs that it acknowledges again");
            Assert.Contains($"acknowledges writes again in term {term}", Assert.Single(logger.Messages(7032)), StringComparison.Ordinal);
            return;
        }

        Assert.Skip("in each of 3 hangs etcd expired a's lease before the renewal reached it, so a never kept its term");
    }

    [Fact]
    public async Task EtcdCutOffBriefly_LeaderThatStoppedAcknowledgingSaysItAcknowledgesAgainInItsTerm()
    {
        using var relay = new TcpRelay(new Uri(TestServers.Etcd));
        var logger = new FakeLogger<ClusterCoordinator>();
        // A lease of 10 s: a stops acknowledging 2 s (its fence margin) before etcd can expire the lease, so when the relay
        // is restored at that moment the renewal that follows keeps the lease and the term, unless reconnecting to etcd
        // takes longer than those 2 s (a loaded machine): then a leads in a new term (event 7004), and the cut is tried again.
        await using var a = await new ClusterNode("a", relay.Url, _prefix, TimeSpan.FromSeconds(10), logger: logger).StartAsync();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            await Eventually.TrueAsync(() => a.State.IsLeader, Timeout, "a leads");
            var (term, steppedDown) = (a.State.Term, logger.Messages(7005).Count());
            relay.Cut();
            // Restored once a has said it stopped (its watchdog notes the moment the lease stops being reliable): a flip
            // shorter than that note takes would be one neither 7005 nor 7032 could tell of.
            await Eventually.TrueAsync(() => logger.Messages(7005).Count() > steppedDown, Timeout, "a logs that it stopped acknowledging");
            relay.Restore();
            await Eventually.TrueAsync(() => a.State.IsLeader, Timeout, "a acknowledges again");
            if (a.State.Term != term)
            {
                Assert.DoesNotContain(logger.Messages(7032), m => m.Contains($"term {term}:", StringComparison.Ordinal));
                continue;
            }

            await Eventually.TrueAsync(() => logger.Messages(7032).Any(), Timeout, "a logs that it acknowledges again");
            Assert.Contains(logger.Messages(7005), m => m.Contains($"term {term}", StringComparison.Ordinal));
            var again = Assert.Single(logger.Messages(7032));
            Assert.Contains($"acknowledges writes again in term {term}", again, StringComparison.Ordinal);
            return;
        }

        Assert.Skip("in each of 3 cuts etcd expired a's lease before a reconnected to it, so a never kept its term");
    }
}
