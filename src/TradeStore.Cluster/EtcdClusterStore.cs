using System.Text.Json;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace TradeStore.Cluster;

/// <summary>The outcome of a campaign: the leader key as etcd holds it after the transaction.</summary>
/// <param name="Leader">The leader (possibly this node), with the key's create revision (plus <see cref="LeaderRecord.TermBase"/>) as its term.</param>
/// <param name="HeldByUs">The key is attached to this node's lease.</param>
/// <param name="Revision">The etcd revision the answer reflects; watch from the next one.</param>
public sealed record CampaignResult(LeaderInfo Leader, bool HeldByUs, long Revision);

/// <summary>What a node that may campaign reads first: the leader key, the <c>sync</c> and <c>history</c> keys, at one revision.</summary>
/// <param name="Leader">The leader key, or <see langword="null"/> when nobody leads.</param>
/// <param name="SyncModRevision">The <c>sync</c> key's modification revision, 0 when absent.</param>
/// <param name="HistoryModRevision">The <c>history</c> key's modification revision, 0 when absent.</param>
/// <param name="Revision">The etcd revision of the read; watch from the next one.</param>
public sealed record ElectionView(CampaignResult? Leader, SyncRecord? Sync, long SyncModRevision, HistoryRecord? History, long HistoryModRevision, long Revision);

/// <summary>
/// Everything TradeStore asks of etcd, on the <c>dotnet-etcd</c> client: a lease, one transaction to take the
/// leader key only if nobody holds it, a watch on that key, the node registry and member keys, and the status read. Leader election
/// and fencing rest on etcd's own guarantees (a linearizable transaction, lease expiry); there is no consensus code here.
/// </summary>
public sealed class EtcdClusterStore : IDisposable
{
    private readonly EtcdChannel _channel;
    private readonly EtcdClient _client;
    private readonly ClusterKeys _keys;

    public EtcdClusterStore(ClusterOptions options)
    {
        _keys = new ClusterKeys(options.KeyPrefix);
        _channel = new EtcdChannel(options.EtcdEndpoints);
        _client = new EtcdClient(_channel.Channel.CreateCallInvoker());
        Endpoints = string.Join(',', options.EtcdEndpoints.Select(u => u.GetLeftPart(UriPartial.Authority)));
    }

    /// <summary>Connections opened to etcd so far (<see cref="EtcdChannel.Connections"/>).</summary>
    public long EtcdConnections => _channel.Connections;

    /// <summary>The endpoints, for messages.</summary>
    public string Endpoints { get; }

    public ClusterKeys Keys => _keys;

    /// <summary>Grants a lease of <paramref name="ttl"/>; returns its id and the TTL etcd actually granted (etcd may raise it to its minimum).</summary>
    public async Task<(long LeaseId, TimeSpan Ttl)> GrantAsync(TimeSpan ttl, CancellationToken cancellationToken)
    {
        var response = await _client.LeaseGrantAsync(new LeaseGrantRequest { TTL = (long)ttl.TotalSeconds }, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(response.Error))
        {
            throw new EtcdUnavailableException($"etcd refused a lease: {response.Error}");
        }

        return (response.ID, TimeSpan.FromSeconds(response.TTL));
    }

    /// <summary>Renews the lease once; returns the TTL etcd restarted it with, or zero when the lease no longer exists.</summary>
    public async Task<TimeSpan> KeepAliveOnceAsync(long leaseId, CancellationToken cancellationToken)
    {
        using var call = _client.GetConnection().LeaseClient.LeaseKeepAlive(cancellationToken: cancellationToken);
        await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = leaseId }, cancellationToken).ConfigureAwait(false);
        if (!await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            throw new EtcdUnavailableException("etcd closed the keep-alive stream without an answer.");
        }

        var ttl = call.ResponseStream.Current.TTL;
        await call.RequestStream.CompleteAsync().ConfigureAwait(false);
        return ttl > 0 ? TimeSpan.FromSeconds(ttl) : TimeSpan.Zero;
    }

    /// <summary>Revokes the lease: etcd deletes every key attached to it (the leader key, the node's registry entry) at once.</summary>
    public async Task RevokeAsync(long leaseId, CancellationToken cancellationToken) =>
        await _client.LeaseRevokeAsync(new LeaseRevokeRequest { ID = leaseId }, cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>The remaining TTL etcd holds for a lease (zero when it has expired); an observer's view, used by tests and tools.</summary>
    public async Task<TimeSpan> TimeToLiveAsync(long leaseId, CancellationToken cancellationToken)
    {
        var response = await _client.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = leaseId }, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.TTL > 0 ? TimeSpan.FromSeconds(response.TTL) : TimeSpan.Zero;
    }

    /// <summary>Writes this node's registry entry on its lease.</summary>
    public async Task PutNodeAsync(NodeRecord node, long leaseId, CancellationToken cancellationToken) =>
        await _client.PutAsync(new PutRequest
        {
            Key = ByteString.CopyFromUtf8(_keys.Node(node.Name)),
            Value = ByteString.CopyFromUtf8(JsonSerializer.Serialize(node, ClusterJson.Default.NodeRecord)),
            Lease = leaseId,
        }, cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>The member record of <paramref name="name"/>, or <see langword="null"/> when it has none (never joined, or forgotten).</summary>
    public async Task<MemberRecord?> ReadMemberAsync(string name, CancellationToken cancellationToken)
    {
        var response = await _client.GetAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(_keys.Member(name)) }, cancellationToken: cancellationToken).ConfigureAwait(false);
        var kv = response.Kvs.FirstOrDefault();
        return kv is null ? null : JsonSerializer.Deserialize(kv.Value.Span, ClusterJson.Default.MemberRecord);
    }

    /// <summary>Writes a node's member record (not on a lease: it outlives the node).</summary>
    public async Task PutMemberAsync(MemberRecord member, CancellationToken cancellationToken) =>
        await _client.PutAsync(new PutRequest
        {
            Key = ByteString.CopyFromUtf8(_keys.Member(member.Name)),
            Value = ByteString.CopyFromUtf8(JsonSerializer.Serialize(member, ClusterJson.Default.MemberRecord)),
        }, cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Deletes the member key of <paramref name="name"/> (a node removed from the cluster for good), in one transaction
    /// that also requires the node to hold no registration: a running node is refused (<see cref="ForgetOutcome.Live"/>,
    /// with its registry entry). Returns the deleted record when forgotten. The node's data, and the <c>sync</c> and
    /// <c>history</c> keys, are not touched; a forgotten node that starts again is a member again.
    /// </summary>
    public async Task<(ForgetOutcome Outcome, MemberRecord? Forgotten, NodeRecord? Live)> ForgetMemberAsync(string name, CancellationToken cancellationToken)
    {
        var node = ByteString.CopyFromUtf8(_keys.Node(name));
        var member = ByteString.CopyFromUtf8(_keys.Member(name));
        while (true)
        {
            var txn = new TxnRequest();
            txn.Compare.Add(new Compare { Key = node, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
            txn.Compare.Add(new Compare { Key = member, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Greater, CreateRevision = 0 });
            txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = member, PrevKv = true } });
            txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = node } });
            txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = member } });
            var response = await _client.TransactionAsync(txn, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (response.Succeeded)
            {
                var deleted = response.Responses[0].ResponseDeleteRange.PrevKvs.FirstOrDefault();
                return (ForgetOutcome.Forgotten, deleted is null ? null : JsonSerializer.Deserialize(deleted.Value.Span, ClusterJson.Default.MemberRecord), null);
            }

            if (response.Responses[0].ResponseRange.Kvs.FirstOrDefault() is { } live)
            {
                return (ForgetOutcome.Live, null, JsonSerializer.Deserialize(live.Value.Span, ClusterJson.Default.NodeRecord));
            }

            if (response.Responses[1].ResponseRange.Kvs.Count == 0)
            {
                return (ForgetOutcome.NotAMember, null, null);
            }

            // the registration expired between the compare and the read: look again
        }
    }

    /// <summary>
    /// Registers <paramref name="node"/> on <paramref name="leaseId"/> unless the name is held by another incarnation:
    /// one transaction creates the key when absent; a key of the same incarnation (an earlier run of this node, killed
    /// before its lease expired) is taken over with a second transaction guarded by its mod revision. Returns
    /// <see langword="null"/> when registered, else the record holding the name and its lease.
    /// </summary>
    public async Task<(NodeRecord Record, long LeaseId)?> RegisterAsync(NodeRecord node, long leaseId, CancellationToken cancellationToken)
    {
        var key = ByteString.CopyFromUtf8(_keys.Node(node.Name));
        var value = ByteString.CopyFromUtf8(JsonSerializer.Serialize(node, ClusterJson.Default.NodeRecord));
        while (true)
        {
            var create = new TxnRequest();
            create.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
            create.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = value, Lease = leaseId } });
            create.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = key } });
            var created = await _client.TransactionAsync(create, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (created.Succeeded)
            {
                return null;
            }

            if (created.Responses[0].ResponseRange.Kvs.FirstOrDefault() is not { } held)
            {
                continue; // expired meanwhile
            }

            var holder = JsonSerializer.Deserialize(held.Value.Span, ClusterJson.Default.NodeRecord)!;
            if (held.Lease == leaseId || !string.Equals(holder.Incarnation, node.Incarnation, StringComparison.Ordinal))
            {
                return held.Lease == leaseId ? null : (holder, held.Lease);
            }

            var takeOver = new TxnRequest();
            takeOver.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = held.ModRevision });
            takeOver.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = value, Lease = leaseId } });
            if ((await _client.TransactionAsync(takeOver, cancellationToken: cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                return null;
            }
        }
    }

    /// <summary>
    /// Takes the leader key for <paramref name="self"/> on <paramref name="leaseId"/> if, and only if, no one holds it
    /// (its create revision is 0), in one etcd transaction; otherwise reads who holds it. The term is the key's create
    /// revision (plus the term base, see <see cref="CampaignGuardedAsync"/>): etcd's revision only grows, so every new leader
    /// has a larger term than every earlier one. <paramref name="lastTerm"/>: the term of this node's log's last record.
    /// </summary>
    public async Task<CampaignResult> CampaignAsync(LeaderRecord self, long leaseId, long lastTerm, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (await CampaignGuardedAsync(self, leaseId, null, requireNoHistory: false, lastTerm, cancellationToken).ConfigureAwait(false) is { } result)
            {
                return result;
            }

            // only the term-base key changed under the transaction (another node raised it): campaign again
        }
    }

    /// <summary>
    /// Like <see cref="CampaignAsync"/>, with guards in the same transaction: the <c>sync</c> key unchanged since
    /// <paramref name="syncModRevision"/> (0: absent; <see langword="null"/>: not checked), so a node takes the lead only under the sync record it checked, and with
    /// <paramref name="requireNoHistory"/> the <c>history</c> key absent, so a node whose log is empty takes the lead only
    /// while the cluster has never held a record. Returns <see langword="null"/> when a guard failed and nobody leads
    /// (check again).
    /// <para>
    /// <paramref name="lastTerm"/> is the term of the last record in this node's journal log: the term it takes must be
    /// larger. It is, as long as etcd is the one the cluster ran on (its revision only grows). An etcd started over empty
    /// or restored from an older snapshot starts again from a smaller revision: then the node raises the
    /// <see cref="ClusterKeys.TermBase"/> key to <paramref name="lastTerm"/> in the same transaction, and the new leader's
    /// term is its key's create revision plus that base (<see cref="LeaderRecord.TermBase"/>), so terms go on growing from
    /// the logs' last one. Without this a leader took a term lower than the records it held, and the followers, which
    /// refuse a leader of a lower term than their log's, never followed it (every write <c>503 replication-unavailable</c>
    /// with <see cref="ClusterOptions.SyncReplicas"/> ≥ 1, acknowledged by the leader alone with 0).
    /// </para>
    /// </summary>
    public async Task<CampaignResult?> CampaignGuardedAsync(LeaderRecord self, long leaseId, long? syncModRevision, bool requireNoHistory, long lastTerm, CancellationToken cancellationToken)
    {
        var key = ByteString.CopyFromUtf8(_keys.Leader);
        var baseKey = ByteString.CopyFromUtf8(_keys.TermBase);
        var current = await _client.GetAsync(new RangeRequest { Key = baseKey }, cancellationToken: cancellationToken).ConfigureAwait(false);
        var baseKv = current.Kvs.FirstOrDefault();
        var termBase = baseKv is null ? 0 : ParseTermBase(baseKv.Value);
        var raise = current.Header.Revision + 1 + termBase <= lastTerm;
        if (raise)
        {
            termBase = lastTerm;
        }

        self = self with { TermBase = termBase };
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
        txn.Compare.Add(new Compare { Key = baseKey, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = baseKv?.ModRevision ?? 0 });
        if (raise)
        {
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = baseKey, Value = ByteString.CopyFromUtf8(termBase.ToString(System.Globalization.CultureInfo.InvariantCulture)) } });
        }

        if (syncModRevision is { } syncRevision)
        {
            txn.Compare.Add(new Compare { Key = ByteString.CopyFromUtf8(_keys.Sync), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = syncRevision });
        }

        if (requireNoHistory)
        {
            txn.Compare.Add(new Compare { Key = ByteString.CopyFromUtf8(_keys.History), Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
        }

        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = ByteString.CopyFromUtf8(JsonSerializer.Serialize(self, ClusterJson.Default.LeaderRecord)), Lease = leaseId } });
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = key } });
        var response = await _client.TransactionAsync(txn, cancellationToken: cancellationToken).ConfigureAwait(false);
        var revision = response.Header.Revision;
        if (response.Succeeded)
        {
            if (raise)
            {
                TermBaseRaised?.Invoke(revision + termBase, revision, termBase, lastTerm);
            }

            return new CampaignResult(new LeaderInfo(self.Name, self.Url, Term(revision, self)), true, revision);
        }

        var held = response.Responses[0].ResponseRange.Kvs.FirstOrDefault();
        if (held is null)
        {
            return null; // a guarded key changed meanwhile: check it again
        }

        var record = ParseLeader(held.Value);
        return new CampaignResult(new LeaderInfo(record.Name, record.Url, Term(held.CreateRevision, record)), held.Lease == leaseId, revision);
    }

    /// <summary>The <c>sync</c> key and its modification revision (0 when absent).</summary>
    public async Task<(SyncRecord? Record, long ModRevision)> ReadSyncAsync(CancellationToken cancellationToken)
    {
        var response = await _client.GetAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(_keys.Sync) }, cancellationToken: cancellationToken).ConfigureAwait(false);
        var kv = response.Kvs.FirstOrDefault();
        return kv is null ? (null, 0) : (JsonSerializer.Deserialize(kv.Value.Span, ClusterJson.Default.SyncRecord), kv.ModRevision);
    }

    /// <summary>
    /// The leader, <c>sync</c> and <c>history</c> keys read together at one revision, for a node deciding whether it may
    /// campaign; <see cref="ElectionView.Revision"/> is where a watch for their next change starts.
    /// </summary>
    public async Task<ElectionView> ReadElectionAsync(long leaseId, CancellationToken cancellationToken)
    {
        var txn = new TxnRequest();
        txn.Success.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(_keys.Leader) } });
        txn.Success.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(_keys.Sync) } });
        txn.Success.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(_keys.History) } });
        var response = await _client.TransactionAsync(txn, cancellationToken: cancellationToken).ConfigureAwait(false);
        var revision = response.Header.Revision;
        var leaderKv = response.Responses[0].ResponseRange.Kvs.FirstOrDefault();
        var syncKv = response.Responses[1].ResponseRange.Kvs.FirstOrDefault();
        var historyKv = response.Responses[2].ResponseRange.Kvs.FirstOrDefault();
        CampaignResult? leader = null;
        if (leaderKv is not null)
        {
            var record = ParseLeader(leaderKv.Value);
            leader = new CampaignResult(new LeaderInfo(record.Name, record.Url, Term(leaderKv.CreateRevision, record)), leaderKv.Lease == leaseId, revision);
        }

        return new ElectionView(leader,
            syncKv is null ? null : JsonSerializer.Deserialize(syncKv.Value.Span, ClusterJson.Default.SyncRecord), syncKv?.ModRevision ?? 0,
            historyKv is null ? null : ParseHistory(historyKv.Value), historyKv?.ModRevision ?? 0, revision);
    }

    /// <summary>The <c>history</c> key, or <see langword="null"/> when the cluster has not recorded one.</summary>
    public async Task<HistoryRecord?> ReadHistoryAsync(CancellationToken cancellationToken)
    {
        var response = await _client.GetAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(_keys.History) }, cancellationToken: cancellationToken).ConfigureAwait(false);
        var kv = response.Kvs.FirstOrDefault();
        return kv is null ? null : ParseHistory(kv.Value);
    }

    /// <summary>
    /// Writes the <c>history</c> key (not on a lease) if, and only if, the leader key still has create revision
    /// <see cref="HistoryRecord.Term"/> (this leader's term); <see langword="false"/> when another term began.
    /// </summary>
    public async Task<bool> PublishHistoryAsync(HistoryRecord record, CancellationToken cancellationToken)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = ByteString.CopyFromUtf8(_keys.Leader), Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = CreateRevisionOf(record.Term) });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(_keys.History), Value = ByteString.CopyFromUtf8(JsonSerializer.Serialize(record, ClusterJson.Default.HistoryRecord)) } });
        var response = await _client.TransactionAsync(txn, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.Succeeded;
    }

    /// <summary>Returns when the leader, <c>sync</c> or <c>history</c> key changes after <paramref name="revision"/>, or when <paramref name="cancellationToken"/> fires.</summary>
    public Task WaitForElectionChangeAsync(long revision, CancellationToken cancellationToken) =>
        WaitForKeysChangeAsync(revision, [_keys.History, _keys.Leader, _keys.Sync], cancellationToken);

    /// <summary>The leader key as etcd holds it now, or <see langword="null"/> when nobody leads.</summary>
    public async Task<CampaignResult?> ReadLeaderAsync(long leaseId, CancellationToken cancellationToken)
    {
        var response = await _client.GetAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(_keys.Leader) }, cancellationToken: cancellationToken).ConfigureAwait(false);
        var held = response.Kvs.FirstOrDefault();
        if (held is null)
        {
            return null;
        }

        var record = ParseLeader(held.Value);
        return new CampaignResult(new LeaderInfo(record.Name, record.Url, Term(held.CreateRevision, record)), held.Lease == leaseId, response.Header.Revision);
    }

    /// <summary>
    /// Writes the <c>sync</c> key if, and only if, the leader key still has create revision <see cref="SyncRecord.Term"/>
    /// (this leader's term); <see langword="false"/> when another term began.
    /// </summary>
    public async Task<bool> PublishSyncAsync(SyncRecord record, CancellationToken cancellationToken)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = ByteString.CopyFromUtf8(_keys.Leader), Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = CreateRevisionOf(record.Term) });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(_keys.Sync), Value = ByteString.CopyFromUtf8(JsonSerializer.Serialize(record, ClusterJson.Default.SyncRecord)) } });
        var response = await _client.TransactionAsync(txn, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.Succeeded;
    }

    /// <summary>Returns when the leader key or the sync key changes after <paramref name="revision"/>, or when <paramref name="cancellationToken"/> fires.</summary>
    public Task WaitForLeaderOrSyncChangeAsync(long revision, CancellationToken cancellationToken) =>
        WaitForKeysChangeAsync(revision, [_keys.Leader, _keys.Sync], cancellationToken);

    /// <summary>
    /// Returns when one of <paramref name="keys"/> (in lexical order) changes after <paramref name="revision"/>, when etcd
    /// ends the watch, or when <paramref name="cancellationToken"/> fires. The keys share the prefix: one watch on the
    /// range from the first to the last covers other keys too ("nodes/…" lies between "leader" and "sync"), so filter.
    /// </summary>
    private async Task WaitForKeysChangeAsync(long revision, string[] keys, CancellationToken cancellationToken)
    {
        using var call = _client.GetConnection().WatchClient.Watch(cancellationToken: cancellationToken);
        await call.RequestStream.WriteAsync(new WatchRequest
        {
            CreateRequest = new WatchCreateRequest { Key = ByteString.CopyFromUtf8(keys[0]), RangeEnd = ByteString.CopyFromUtf8(keys[^1] + "\0"), StartRevision = revision + 1 },
        }, cancellationToken).ConfigureAwait(false);
        while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            var response = call.ResponseStream.Current;
            if (response.Canceled || response.Events.Any(e => keys.Contains(e.Kv.Key.ToStringUtf8())))
            {
                return;
            }
        }
    }

    /// <summary>Deletes the leader key if this lease holds it: a clean stop hands leadership over at once instead of after the TTL.</summary>
    public async Task ResignAsync(long leaseId, CancellationToken cancellationToken)
    {
        var key = ByteString.CopyFromUtf8(_keys.Leader);
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Lease, Result = Compare.Types.CompareResult.Equal, Lease = leaseId });
        txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = key } });
        await _client.TransactionAsync(txn, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Returns when the leader key changes (put or delete) after <paramref name="revision"/>, or when <paramref name="cancellationToken"/> fires.</summary>
    public async Task WaitForLeaderChangeAsync(long revision, CancellationToken cancellationToken)
    {
        using var call = _client.GetConnection().WatchClient.Watch(cancellationToken: cancellationToken);
        await call.RequestStream.WriteAsync(new WatchRequest
        {
            CreateRequest = new WatchCreateRequest { Key = ByteString.CopyFromUtf8(_keys.Leader), StartRevision = revision + 1 },
        }, cancellationToken).ConfigureAwait(false);
        while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            var response = call.ResponseStream.Current;
            if (response.Canceled || response.Events.Count > 0)
            {
                // A change, or a watch etcd ended (for example compacted past the revision): either way, read the key again.
                return;
            }
        }
    }

    /// <summary>
    /// The leader key, the node registry and the member keys, read together at one revision: every registered node,
    /// and every member without a registration (<c>stopped</c> or <c>unreachable</c>, with when it was last seen).
    /// </summary>
    public async Task<ClusterStatus> ReadStatusAsync(CancellationToken cancellationToken)
    {
        var txn = new TxnRequest();
        txn.Success.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(_keys.Leader) } });
        txn.Success.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(_keys.Nodes), RangeEnd = ByteString.CopyFromUtf8(PrefixEnd(_keys.Nodes)) } });
        txn.Success.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(_keys.Members), RangeEnd = ByteString.CopyFromUtf8(PrefixEnd(_keys.Members)) } });
        var response = await _client.TransactionAsync(txn, cancellationToken: cancellationToken).ConfigureAwait(false);
        var leaderKv = response.Responses[0].ResponseRange.Kvs.FirstOrDefault();
        var leader = leaderKv is null ? null : ParseLeader(leaderKv.Value);
        var nodes = response.Responses[1].ResponseRange.Kvs
            .Select(kv => JsonSerializer.Deserialize(kv.Value.Span, ClusterJson.Default.NodeRecord))
            .OfType<NodeRecord>()
            .ToList();
        var leaderApplied = leader is null ? (long?)null : nodes.FirstOrDefault(n => n.Name == leader.Name)?.AppliedSeq;
        var missing = response.Responses[2].ResponseRange.Kvs
            .Select(kv => JsonSerializer.Deserialize(kv.Value.Span, ClusterJson.Default.MemberRecord))
            .OfType<MemberRecord>()
            .Where(m => !nodes.Exists(n => n.Name == m.Name))
            .Select(m => new ClusterNodeStatus(m.Name, m.Url, m.Stopped ? ClusterNodeStatus.StoppedRole : ClusterNodeStatus.UnreachableRole, m.AppliedSeq, null, null, m.LastSeen));
        var statuses = nodes
            .Select(n => new ClusterNodeStatus(n.Name, n.Url, LiveRole(n.Name, leader), n.AppliedSeq,
                leaderApplied is { } top ? Math.Max(0, top - n.AppliedSeq) : null, n.TruncatedSeq))
            .Concat(missing)
            .OrderBy(n => n.Name, StringComparer.Ordinal)
            .ToList();
        return new ClusterStatus(leader?.Name, leaderKv is null ? 0 : Term(leaderKv.CreateRevision, leader!), statuses);
    }

    /// <summary>A registered node follows only when some node leads; while none does it is a candidate, not a follower of nobody.</summary>
    private static string LiveRole(string node, LeaderRecord? leader) =>
        leader is null ? ClusterNodeStatus.CandidateRole
        : node == leader.Name ? ClusterNodeStatus.LeaderRole
        : ClusterNodeStatus.FollowerRole;

    public void Dispose()
    {
        _client.Dispose();
        _channel.Dispose();
    }

    /// <summary>
    /// What went wrong with an etcd call, in one sentence: the innermost cause of a gRPC failure rather than gRPC's
    /// status dump, which repeats it three times; for a call that ran out of time, why the last connection failed.
    /// </summary>
    public string Cause(Exception exception) => exception switch
    {
        OperationCanceledException when _channel.LastConnectFailure is { } refused => refused,
        RpcException { Status.DebugException: { } cause } => cause.GetBaseException().Message,
        RpcException rpc => $"{rpc.StatusCode}: {rpc.Status.Detail}",
        _ => exception.GetBaseException().Message,
    };

    /// <summary>
    /// Whether <paramref name="exception"/> means etcd could not be reached in time or answered with an error: retried,
    /// never fatal. Callers check their own stopping token first, so a cancellation here is a call's timeout.
    /// </summary>
    public static bool IsEtcdFailure(Exception exception) =>
        exception is RpcException or EtcdUnavailableException or HttpRequestException or IOException or TimeoutException or OperationCanceledException;

    /// <summary>
    /// Raised when a campaign raised the <see cref="ClusterKeys.TermBase"/> key and won: the term, the leader key's create
    /// revision, the new base and the term of the last record in this node's log.
    /// </summary>
    public event Action<long, long, long, long>? TermBaseRaised;

    /// <summary>The term of a leader key: its create revision plus the base it was created with; remembered for the guards of that term.</summary>
    private long Term(long createRevision, LeaderRecord record)
    {
        var term = createRevision + record.TermBase;
        if (record.TermBase != 0)
        {
            _termBases[term] = record.TermBase;
        }

        return term;
    }

    /// <summary>The leader key's create revision in <paramref name="term"/>, for a transaction guarded by the term.</summary>
    private long CreateRevisionOf(long term) => _termBases.TryGetValue(term, out var termBase) ? term - termBase : term;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, long> _termBases = new();

    private static long ParseTermBase(ByteString value) =>
        long.TryParse(value.ToStringUtf8(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var termBase) && termBase >= 0
            ? termBase
            : throw new EtcdUnavailableException($"The term-base key holds '{value.ToStringUtf8()}', not a whole number.");

    private static LeaderRecord ParseLeader(ByteString value) =>
        JsonSerializer.Deserialize(value.Span, ClusterJson.Default.LeaderRecord) ?? throw new EtcdUnavailableException("The leader key holds no leader.");

    private static HistoryRecord ParseHistory(ByteString value) =>
        JsonSerializer.Deserialize(value.Span, ClusterJson.Default.HistoryRecord) ?? throw new EtcdUnavailableException("The history key holds no record.");

    private static string PrefixEnd(string prefix) => prefix[..^1] + (char)(prefix[^1] + 1);
}

/// <summary>etcd could not be reached, or answered something TradeStore cannot use.</summary>
public sealed class EtcdUnavailableException(string message) : Exception(message);
