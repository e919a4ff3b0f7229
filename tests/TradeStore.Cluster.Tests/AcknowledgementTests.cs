using System.Net;
using Microsoft.Extensions.Logging.Testing;
using TradeStore.TestSupport;

namespace TradeStore.Cluster.Tests;

/// <summary>
/// The first write of a quiet new term was once answered <c>503 replication-unavailable</c> with both followers
/// connected and no synchronous replica (event 7015) written. Neither a follower's durable seq nor a proposed sync set
/// may be lost: an acknowledgement request the leader ended is noticed and opened again with the latest seq, and a set
/// proposed while another is written, or whose write failed, is written later without a further acknowledgement.
/// </summary>
public sealed class AcknowledgementTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _prefix = $"/acks-{Guid.NewGuid():N}/";

    /// <summary>
    /// The case seen in a 3-node cluster: a new term stays quiet longer than the leader's Kestrel keep-alive timeout (130 s there; 3 s at
    /// the relay here), then exactly one write. Before the fix a follower sent its acknowledgement request's headers only
    /// with its first frame, so the leader closed the silent connection and that write's seq was written into it and
    /// lost (HTTP/1.1: the answer is read only after the body): the write waited out Cluster:ReplicationTimeout (15 s
    /// here) and answered 503 replication-unavailable, with no sync set written.
    /// </summary>
    [Fact]
    public async Task QuietTermLongerThanTheKeepAliveTimeout_ThenOneLoneWrite_IsAcknowledgedAndOnTheFollower()
    {
        var leaderUrl = $"http://127.0.0.1:{FreePort.Next()}";
        using var relay = new LeaderRelay(new Uri(leaderUrl), closeSilentAfter: TimeSpan.FromSeconds(3));
        await LoneWriteAsync(relay, leaderUrl, async (b, ct) =>
        {
            // Idle well past the relay's 3 s: before the fix b's acknowledgement connection was closed by now.
            await Task.Delay(TimeSpan.FromSeconds(8), ct);
            return null;
        });
    }

    /// <summary>
    /// The follower's first acknowledgement request is answered early, drained and closed, the way Kestrel ends a
    /// request it refused (<c>409 stale-term</c>) before reading its body. Then exactly one write, with nothing after
    /// it: the follower must notice the closed request (its idle repeats of the durable seq fail) and send the write's
    /// seq on a new one. Before the fix nothing was written on an idle request, so nothing noticed.
    /// </summary>
    [Fact]
    public async Task AcksRequestEndedByTheLeader_ThenOneLoneWrite_IsAcknowledgedAndOnTheFollower()
    {
        var leaderUrl = $"http://127.0.0.1:{FreePort.Next()}";
        using var relay = new LeaderRelay(new Uri(leaderUrl), answerEarly: "POST /v1/replication/acks");
        await LoneWriteAsync(relay, leaderUrl, async (b, ct) =>
        {
            // Waited for by hand, so that a failure shows what went through the relay and what b logged.
            var deadline = DateTime.UtcNow + Timeout;
            while (!relay.EarlyClosed && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, ct);
            }

            return relay.EarlyClosed ? null : $"b's first acknowledgement request was not answered early, drained and closed; requests through the relay: {relay.Seen}\nb:\n{b.Process.Output}";
        });
        Assert.True(relay.Matching >= 2, $"b opened {relay.Matching} acknowledgement request(s); expected another after the first was ended");
    }

    /// <summary>
    /// Leader a (advertising <paramref name="relay"/>, so b replicates through it) and follower b with
    /// <c>SyncReplicas=1</c>; once b follows, <paramref name="meanwhile"/> (a failure message, or null), then exactly
    /// one write on a, which must be acknowledged, with the sync set written, and be on b.
    /// </summary>
    private async Task LoneWriteAsync(LeaderRelay relay, string leaderUrl, Func<NodeProcess, CancellationToken, Task<string?>> meanwhile)
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(60) };
        var settings = new Dictionary<string, string>
        {
            ["TRADESTORE__CLUSTER__SYNCREPLICAS"] = "1",
            ["TRADESTORE__CLUSTER__REPLICATIONTIMEOUT"] = "00:00:15",
        };
        await using var a = await NodeProcess.StartAsync("a", _prefix,
            new Dictionary<string, string>(settings) { ["TRADESTORE__CLUSTER__ADVERTISEURL"] = relay.Url }, url: leaderUrl);
        await Eventually.MatchAsync(() => a.ClusterAsync(http), s => s.Leader == "a", Timeout, "a leads");
        await using var b = await NodeProcess.StartAsync("b", _prefix, settings);
        await Eventually.TrueAsync(() => b.Process.Output.Contains("[1312]", StringComparison.Ordinal), Timeout, "b follows a"); // "following a in term …"
        if (await meanwhile(b, ct) is { } failure)
        {
            Assert.Fail(failure);
        }

        using var created = await http.PostAsync($"{a.Url}/v1/trades", NodeProcess.Trade("D1-1"), ct);
        Assert.True(created.StatusCode == HttpStatusCode.Created,
            $"the lone write answered {(int)created.StatusCode} {await created.Content.ReadAsStringAsync(ct)}; requests through the relay: {relay.Seen}\na:\n{a.Process.Output}\nb:\n{b.Process.Output}");
        await a.Process.WaitForOutputAsync("[7015]", Timeout); // the sync set was written before the write counted b's acknowledgement

        var seq = created.Headers.GetValues("TradeStore-Seq").Single();
        using var onB = await b.ReadTradeAsync(http, "D1-1", seq);
        Assert.Equal(HttpStatusCode.OK, onB.StatusCode);
    }

    /// <summary>
    /// A set proposed while another is being written to etcd used to be dropped (in the hope of a later acknowledgement,
    /// which a lone write does not bring): it must be written next, and said so (event 7027).
    /// </summary>
    [Fact]
    public async Task Propose_WhileAnotherSetIsBeingWritten_TheLatestIsWrittenNext()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var node = await new ClusterNode("s1", TestServers.Etcd, _prefix).StartAsync();
        await Eventually.TrueAsync(() => node.State.IsLeader, Timeout, "s1 leads");
        var term = node.State.HeldTerm;
        var logger = new FakeLogger<SyncReplicaSet>();
        var sync = new SyncReplicaSet(node.Store, node.State, logger);
        var x = new SyncMember("x", "incarnation-x");
        var y = new SyncMember("y", "incarnation-y");

        // The first write is in flight when Propose returns (it awaits etcd); the second arrives meanwhile.
        sync.Propose(term, [x]);
        sync.Propose(term, [y]);

        await Eventually.TrueAsync(() => sync.MembersOf(term) is [var only] && only == y, Timeout, "the set {y} written after {x}");
        var (record, _) = await node.Store.ReadSyncAsync(ct);
        Assert.NotNull(record);
        Assert.Equal(term, record.Term);
        Assert.Equal(new[] { "y" }, record.Members);
        Assert.Single(logger.Messages(7027));
        Assert.Equal(2, logger.Messages(7015).Count());
    }

    /// <summary>
    /// A set whose write failed (etcd unreachable for the set's writer) used to be dropped until the next
    /// acknowledgement: it must be tried again (event 7016 says so) and written once etcd answers, with no further proposal.
    /// </summary>
    [Fact]
    public async Task Propose_WhileEtcdIsUnreachable_IsRetriedAndWrittenOnceEtcdAnswers()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var node = await new ClusterNode("s1", TestServers.Etcd, _prefix).StartAsync();
        await Eventually.TrueAsync(() => node.State.IsLeader, Timeout, "s1 leads");
        var term = node.State.HeldTerm;

        // Only the set's writer goes through the relay: the node keeps its lease (and its term) on its own connection.
        using var relay = new TcpRelay(new Uri(TestServers.Etcd));
        using var store = new EtcdClusterStore(new ClusterOptions { Etcd = relay.Url, Node = "s1", AdvertiseUrl = "http://s1.test:5080", KeyPrefix = _prefix });
        var logger = new FakeLogger<SyncReplicaSet>();
        var sync = new SyncReplicaSet(store, node.State, logger);
        var x = new SyncMember("x", "incarnation-x");

        relay.Cut();
        sync.Propose(term, [x]);
        await Eventually.TrueAsync(() => logger.Messages(7016).Any(), Timeout, "the failed write logged (7016)");
        Assert.Empty(sync.MembersOf(term));
        relay.Restore();

        await Eventually.TrueAsync(() => sync.MembersOf(term) is [var only] && only == x, Timeout, "the set {x} written once etcd answers, without another proposal");
        var (record, _) = await node.Store.ReadSyncAsync(ct);
        Assert.NotNull(record);
        Assert.Equal(new[] { "x" }, record.Members);
        Assert.Contains("retrying", logger.Messages(7016).First(), StringComparison.Ordinal);
    }
}
