using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TradeStore.Cluster;

/// <summary>
/// Keeps this node in the cluster: a session is one etcd lease, granted at start and renewed every third of its TTL;
/// the node's registry entry and, when it wins, the leader key are attached to it. Two loops run per session:
/// <list type="bullet">
/// <item>the keeper renews the lease, moves the <see cref="LeaseClock"/>, refreshes the registry entry, and ends the
/// session when etcd says the lease is gone; it also rewrites the node's member record (not on a lease) every <see cref="MemberRefreshInterval"/>;</item>
/// <item>the election takes the leader key whenever nobody holds it (one etcd transaction) and otherwise watches it.</item>
/// </list>
/// By design an etcd failure never ends a session by itself: the lease may still be alive, and only etcd can say it
/// is not. Meanwhile the lease clock runs out and the node stops acknowledging on its own.
/// </summary>
public sealed class ClusterCoordinator : BackgroundService
{
    /// <summary>How long a watch waits before the leader key is read again anyway.</summary>
    private static readonly TimeSpan WatchRefresh = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The exit code of a node refused because another process holds its name (the CLI's code for a bad configuration,
    /// which the guard does not restart).
    /// </summary>
    public const int NameInUseExitCode = 2;

    private static readonly TimeSpan LeaveTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How often a node rewrites its member record (<see cref="MemberRecord"/>) while it runs, so <c>lastSeen</c> of a node
    /// that died without leaving is at most this old. By design not every renewal: the record is not on a lease, so each
    /// write is a new etcd revision, kept until etcd compacts.
    /// </summary>
    public static readonly TimeSpan MemberRefreshInterval = TimeSpan.FromSeconds(30);

    /// <summary>
    /// By design short: the followers trail by milliseconds, and writes are refused (<c>no-leader</c>) from the moment
    /// the hand-over begins until another node leads. A follower further behind is not waited for.
    /// </summary>
    private static readonly TimeSpan HandOverTimeout = TimeSpan.FromMilliseconds(500);

    private readonly ClusterOptions _options;
    private readonly ClusterState _state;
    private readonly EtcdClusterStore _store;
    private readonly AppliedSeq _appliedSeq;
    private readonly ILogger<ClusterCoordinator> _logger;
    private readonly ClusterMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILeaderHandOver? _handOver;
    private readonly ILeadershipVeto? _veto;
    private readonly IHostApplicationLifetime? _lifetime;
    private long _leaseId;
    private string? _lastLeaderLogged;
    private long _historyTerm;
    private DateTimeOffset? _firstJoined;
    private long _memberWrittenAt;
    private long _statusReadAt;
    private bool _registered;

    /// <summary>The member record's writes, paced in the log like every etcd loop (event 7024, then 7017 and 7031).</summary>
    private readonly EtcdRetry _memberWrites;

    public ClusterCoordinator(IOptions<ClusterOptions> options, ClusterState state, EtcdClusterStore store, AppliedSeq appliedSeq, ClusterMetrics metrics,
        ILogger<ClusterCoordinator> logger, TimeProvider? timeProvider = null, ILeaderHandOver? handOver = null, IHostApplicationLifetime? lifetime = null,
        ILeadershipVeto? veto = null)
    {
        _handOver = handOver;
        _veto = veto;
        _lifetime = lifetime;
        _metrics = metrics;
        _options = options.Value;
        _state = state;
        _store = store;
        _appliedSeq = appliedSeq;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
        _memberWrites = new EtcdRetry(_logger, "write the member record", _time,
            ex => Log.MemberWriteFailed(_logger, ex, _state.NodeName, _store.Keys.Member(_state.NodeName)));
        _store.TermBaseRaised += (term, revision, termBase, lastTerm) =>
            Log.TermBaseRaised(_logger, revision - 1, lastTerm, _store.Keys.TermBase, termBase, _state.NodeName, term);
    }

    /// <summary>The exit code the node should stop with when the cluster refused it (<see cref="NameInUseExitCode"/>); otherwise <see langword="null"/>.</summary>
    public int? ExitCode { get; private set; }

    /// <summary>The lease of the current session (0 between sessions); tests ask etcd about it.</summary>
    public long LeaseId => Interlocked.Read(ref _leaseId);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        Log.Joining(_logger, _state.NodeName, _state.AdvertiseUrl, _store.Endpoints, _options.KeyPrefix, _options.LeaseTtl, _options.RenewInterval, _options.FenceMargin);
        var retry = new EtcdRetry(_logger, "start a session", _time);
        try
        {
            while (!stoppingToken.IsCancellationRequested && ExitCode is null)
            {
                try
                {
                    await RunSessionAsync(retry, stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested && EtcdClusterStore.IsEtcdFailure(ex))
                {
                    await DelayAsync(retry.Failed(ex), stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
        finally
        {
            await LeaveAsync();
        }
    }

    private async Task RunSessionAsync(EtcdRetry retry, CancellationToken stoppingToken)
    {
        _registered = false;
        var sentAt = _state.Clock.Now();
        var (leaseId, ttl) = await WithTimeoutAsync(token => _store.GrantAsync(_options.LeaseTtl, token), stoppingToken);
        Interlocked.Exchange(ref _leaseId, leaseId);
        _state.Clock.Renewed(sentAt, ttl);
        var applied = _appliedSeq.Read();
        if (!await RegisterAsync(Registration(applied), leaseId, stoppingToken))
        {
            return;
        }

        _registered = true;
        Log.SessionStarted(_logger, leaseId, ttl, _state.NodeName);
        await RecordMemberAsync(applied, stoppingToken);
        retry.Succeeded();

        using var session = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var keeper = KeepAliveAsync(leaseId, session.Token);
        var election = ElectAsync(leaseId, session.Token);
        var refresher = RefreshAsync(leaseId, applied, session.Token);
        var watchdog = WatchLeaseAsync(session.Token);
        await Task.WhenAny(keeper, election, refresher); // the refresher ends only by failing: that ends the session too, as before
        await session.CancelAsync();
        try
        {
            await Task.WhenAll(keeper, election, refresher, watchdog);
        }
        catch (OperationCanceledException)
        {
            // the other loop, cancelled
        }

        stoppingToken.ThrowIfCancellationRequested();
        _registered = false;
        _state.Observe(null, held: false);
        Interlocked.Exchange(ref _leaseId, 0);
        Recheck();
    }

    private NodeRecord Registration(long applied) => new(_state.NodeName, _state.AdvertiseUrl, applied, _state.Truncated, _state.Incarnation.Id);

    /// <summary>This node's member record as of now: <paramref name="stopped"/> when written as it leaves.</summary>
    private async Task<MemberRecord> MembershipAsync(long applied, bool stopped, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        _firstJoined ??= (await WithTimeoutAsync(token => _store.ReadMemberAsync(_state.NodeName, token), cancellationToken))?.FirstJoined ?? now;
        return new MemberRecord(_state.NodeName, _state.AdvertiseUrl, _state.Incarnation.Id, applied, _firstJoined.Value, now, stopped);
    }

    /// <summary>
    /// Writes this node's member record (<see cref="MemberRecord"/>), after it registered and every
    /// <see cref="MemberRefreshInterval"/> after that. Never fatal: a failure is logged (event 7024) and retried one renewal interval later.
    /// </summary>
    private async Task RecordMemberAsync(long applied, CancellationToken cancellationToken)
    {
        try
        {
            var member = await MembershipAsync(applied, stopped: false, cancellationToken);
            await WithTimeoutAsync(async token => { await _store.PutMemberAsync(member, token); return true; }, cancellationToken);
            _memberWrittenAt = _time.GetTimestamp();
            _memberWrites.Succeeded();
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && EtcdClusterStore.IsEtcdFailure(ex))
        {
            _memberWrittenAt = 0;
            _memberWrites.Report(ex, _options.RenewInterval);
        }
    }

    private bool MemberRefreshDue => _memberWrittenAt == 0 || _time.GetElapsedTime(_memberWrittenAt) >= MemberRefreshInterval;

    /// <summary>
    /// Registers this node unless another incarnation holds its name (issue #14: names must be unique, since the leader
    /// counts acknowledgements and etcd names sync replicas by them). A holder that is a dead process (killed, its disk
    /// replaced) loses the key when its lease expires, so the node waits that long (the holder's remaining TTL and a
    /// second, event 7021). A key still held by another incarnation after that is asked about once more: if etcd gives
    /// its lease time left, a live process renewed it, and the node refuses to join, logs event 7020 naming the holder's
    /// URL and stops with <see cref="NameInUseExitCode"/>; if the lease has run out and etcd has only not removed it yet
    /// (event 7033), the node waits on. By design not a refusal on the clock alone: etcd revokes expired leases at most
    /// 1,000 a second, each a raft entry waiting for its fsync, so seconds late on a loaded machine; until 2026-12-05 a
    /// node on a replaced disk then refused to join though nothing used its name (7020, exit code 2). The key of an
    /// earlier run of this very directory (same incarnation) is taken over at once, as before (event 7010 covers its leader key).
    /// </summary>
    /// <returns><see langword="false"/> when refused.</returns>
    private async Task<bool> RegisterAsync(NodeRecord record, long leaseId, CancellationToken stoppingToken)
    {
        var waitingSince = 0L;
        var patience = TimeSpan.Zero;
        var expiredLogged = false;
        while (true)
        {
            if (await WithTimeoutAsync(token => _store.RegisterAsync(record, leaseId, token), stoppingToken) is not { } holder)
            {
                return true;
            }

            if (waitingSince == 0)
            {
                waitingSince = _time.GetTimestamp();
                patience = await WithTimeoutAsync(token => _store.TimeToLiveAsync(holder.LeaseId, token), stoppingToken) + TimeSpan.FromSeconds(1);
                Log.NameHeld(_logger, _state.NodeName, holder.Record.Url, Short(holder.Record.Incarnation), Short(_state.Incarnation.Id), patience);
            }
            else if (_time.GetElapsedTime(waitingSince) > patience)
            {
                if (await WithTimeoutAsync(token => _store.TimeToLiveAsync(holder.LeaseId, token), stoppingToken) <= TimeSpan.Zero)
                {
                    if (!expiredLogged)
                    {
                        expiredLogged = true;
                        Log.NameHolderExpired(_logger, holder.Record.Url, _state.NodeName, Short(holder.Record.Incarnation));
                    }

                    await DelayAsync(EtcdRetry.FirstDelay, stoppingToken);
                    continue;
                }

                ExitCode = NameInUseExitCode;
                Log.NameInUse(_logger, _state.NodeName, holder.Record.Url, Short(holder.Record.Incarnation), Short(_state.Incarnation.Id), NameInUseExitCode);
                _lifetime?.StopApplication();
                return false;
            }

            await DelayAsync(EtcdRetry.FirstDelay, stoppingToken);
        }

        static string Short(string? incarnation) => incarnation is null ? "none" : incarnation[..Math.Min(8, incarnation.Length)];
    }

    /// <summary>
    /// Renews the lease every <see cref="ClusterOptions.RenewInterval"/>; returns when etcd says it is gone. By design it
    /// makes no other etcd call: the registry, member and history writes run on their own loop (<see cref="RefreshAsync"/>),
    /// so a slow write (each one waits for etcd's fsync) never delays a renewal and with it the leader's acknowledgements.
    /// </summary>
    private async Task KeepAliveAsync(long leaseId, CancellationToken cancellationToken)
    {
        var renewals = new EtcdRetry(_logger, "renew the lease", _time, ex => Log.RenewFailed(_logger, ex, leaseId, _state.Clock.Remaining));
        var nextRenewal = _state.Clock.Now() + ToTicks(_options.RenewInterval);
        while (!cancellationToken.IsCancellationRequested)
        {
            await DelayAsync(Until(nextRenewal), cancellationToken);
            if (_state.Clock.Now() < nextRenewal)
            {
                continue;
            }

            var sentAt = _state.Clock.Now();
            try
            {
                var ttl = await WithTimeoutAsync(token => _store.KeepAliveOnceAsync(leaseId, token), cancellationToken);
                renewals.Succeeded(); // etcd answered (event 7031 after failures), even if only to say the lease is gone
                if (ttl == TimeSpan.Zero)
                {
                    _state.Clock.Expire();
                    Recheck();
                    Log.LeaseLost(_logger, leaseId);
                    return;
                }

                _state.Clock.Renewed(sentAt, ttl);
                Recheck();
                nextRenewal = sentAt + ToTicks(_options.RenewInterval);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && EtcdClusterStore.IsEtcdFailure(ex))
            {
                renewals.Report(ex, EtcdRetry.FirstDelay);
                nextRenewal = _state.Clock.Now() + ToTicks(EtcdRetry.FirstDelay);
            }
        }
    }

    /// <summary>
    /// Wakes when the lease stops being reliable on this node's clock, whatever the renewal loop is doing, so the
    /// step-down (event 7005) is noticed and logged on time. Until 2026-12-05 the renewal loop did this itself, between
    /// renewals: when the lease ran out while a renewal hung (each may take up to the renewal interval) and the renewal
    /// then succeeded, the node had stopped acknowledging and started again without a word, neither 7005 nor 7032.
    /// </summary>
    private async Task WatchLeaseAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var remaining = _state.Clock.Remaining;
                // A millisecond past the moment, so a timer that rounds down never wakes just before it again and again.
                await DelayAsync(remaining > TimeSpan.Zero ? remaining + TimeSpan.FromMilliseconds(1) : _options.RenewInterval, cancellationToken);
                Recheck();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the session ended
        }
    }

    /// <summary>
    /// Beside the renewals, every <see cref="ClusterOptions.RenewInterval"/> for the whole session: the registry (applied
    /// seq, status), the member record when due, and the history key once per term. A failure is logged (event 7025, or
    /// 7023/7024 for the history and member keys) and the work is tried again at the next round; it never ends the session.
    /// </summary>
    private async Task RefreshAsync(long leaseId, long registered, CancellationToken cancellationToken)
    {
        var refreshes = new EtcdRetry(_logger, "refresh the registration", _time,
            ex => Log.RegistryRefreshFailed(_logger, ex, _state.NodeName, _store.Keys.Node(_state.NodeName)));
        try
        {
            while (true)
            {
                await DelayAsync(_options.RenewInterval, cancellationToken);
                try
                {
                    registered = await RefreshRegistryAsync(leaseId, registered, cancellationToken);
                    refreshes.Succeeded();
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested && EtcdClusterStore.IsEtcdFailure(ex))
                {
                    refreshes.Report(ex, _options.RenewInterval);
                }

                if (MemberRefreshDue)
                {
                    await RecordMemberAsync(registered, cancellationToken);
                }

                await RecordHistoryAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the session ended
        }
    }

    /// <summary>
    /// Writes the applied seq into the registry when it moved, and reads the status: how far the leader is ahead, and how
    /// many members have no live registration. Each call bounded like the renewal, so a slow etcd does not hold up the next one.
    /// </summary>
    private async Task<long> RefreshRegistryAsync(long leaseId, long registered, CancellationToken cancellationToken)
    {
        var applied = _appliedSeq.Read();
        if (applied != registered)
        {
            await WithTimeoutAsync(async token => { await _store.PutNodeAsync(Registration(applied), leaseId, token); return true; }, cancellationToken);
        }

        if (_state.IsLeader)
        {
            _metrics.SetLag(0);
            if (_statusReadAt != 0 && _time.GetElapsedTime(_statusReadAt) < MemberRefreshInterval)
            {
                // By design the leader reads the status only every MemberRefreshInterval: it has no lag of its own to read,
                // and the missing-members gauge changes no faster than the member records, written that often.
                return applied;
            }
        }

        var status = await WithTimeoutAsync(_store.ReadStatusAsync, cancellationToken);
        _statusReadAt = _time.GetTimestamp();
        if (!_state.IsLeader)
        {
            _metrics.SetLag(status.Nodes.FirstOrDefault(n => n.Name == _state.NodeName)?.LagSeq ?? 0);
        }

        _metrics.SetMissing(status.Missing.Count);
        return applied;
    }

    /// <summary>Takes the leader key when free, otherwise follows whoever holds it; re-runs on every change of the key.</summary>
    private async Task ElectAsync(long leaseId, CancellationToken cancellationToken)
    {
        var self = new LeaderRecord(_state.NodeName, _state.AdvertiseUrl);
        var retry = new EtcdRetry(_logger, "campaign for the leader key", _time);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var result = await CampaignIfAllowedAsync(self, leaseId, cancellationToken);
                retry.Succeeded();
                if (result is null)
                {
                    continue;
                }

                _state.Observe(result.Leader, result.HeldByUs);
                LogLeader(result);
                Recheck();
                using var watch = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                watch.CancelAfter(WatchRefresh);
                string? unfit = null;
                try
                {
                    var changed = _options.SyncReplicas > 0
                        ? _store.WaitForLeaderOrSyncChangeAsync(result.Revision, watch.Token)
                        : _store.WaitForLeaderChangeAsync(result.Revision, watch.Token);
                    unfit = result.HeldByUs ? await LeadWhileFitAsync(changed, cancellationToken) : null;
                    if (unfit is not null)
                    {
                        await watch.CancelAsync();
                    }

                    await changed;
                }
                catch (Exception ex) when (watch.IsCancellationRequested && !cancellationToken.IsCancellationRequested
                                           && (EtcdClusterStore.IsEtcdFailure(ex) || ex is OperationCanceledException))
                {
                    // no change within WatchRefresh (read the key again anyway), or the watch ended for the step-down
                }

                if (unfit is not null)
                {
                    await StepDownAsync(leaseId, result.Leader.Term, unfit, cancellationToken);
                }
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && EtcdClusterStore.IsEtcdFailure(ex))
            {
                await DelayAsync(retry.Failed(ex), cancellationToken);
            }
        }
    }

    /// <summary>
    /// Waits for <paramref name="changed"/> (the leader or sync key changed) while this node leads, asking the
    /// <see cref="ILeadershipVeto"/> every <see cref="ClusterOptions.RenewInterval"/> whether it is still fit to; returns
    /// the reason it is not, or <see langword="null"/> once the key changed. Not on the renewal loop: a probe of a failing
    /// disk never delays a renewal.
    /// </summary>
    private async Task<string?> LeadWhileFitAsync(Task changed, CancellationToken cancellationToken)
    {
        if (_state.HoldsGivenUpTerm)
        {
            return "it gave this term up and its resignation did not reach etcd"; // resigned again at once
        }

        if (_veto is null)
        {
            return null;
        }

        while (!changed.IsCompleted)
        {
            var tick = Task.Delay(_options.RenewInterval, _time, cancellationToken);
            if (await Task.WhenAny(changed, tick) == changed)
            {
                return null;
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (_state.IsLeader && await _veto.ReasonNotToLeadAsync(cancellationToken) is { } reason)
            {
                return reason;
            }
        }

        return null;
    }

    /// <summary>
    /// Gives up <paramref name="term"/> for a local fault (event 7028), in the order of a shutdown's hand-over
    /// (<see cref="LeaveAsync"/>) but keeping the session: stop acknowledging, let the followers take the end of the log,
    /// resign the leader key. The election loop then does not campaign while the fault lasts (event 7029) and follows the
    /// node that leads next. Every write this node acknowledged is on a sync replica, and a failed commit was rolled back,
    /// so nothing is lost and nothing is left to cut.
    /// </summary>
    private async Task StepDownAsync(long leaseId, long term, string reason, CancellationToken cancellationToken)
    {
        Log.UnfitSteppingDown(_logger, _state.NodeName, term, reason);
        _state.StopLeading();
        RecheckUnlogged();
        if (_handOver is not null)
        {
            var (through, caughtUp) = await _handOver.HandOverAsync(term, HandOverTimeout);
            if (!caughtUp)
            {
                Log.HandOverIncomplete(_logger, term, through, HandOverTimeout);
            }
        }

        _lastLeaderLogged = null;
        await WithTimeoutAsync(async token => { await _store.ResignAsync(leaseId, token); return true; }, cancellationToken);
        _state.Observe(null, held: false);
        Recheck();
    }

    /// <summary>
    /// Campaigns for the leader key unless this node may not lead, and otherwise waits for a change. First, a node whose
    /// <see cref="ILeadershipVeto"/> reports a local fault (its storage refuses writes) does not campaign (event 7029). Then
    /// two rules, each checked in the campaign's own transaction so that what was read still holds when the key is taken:
    /// <list type="bullet">
    /// <item>With <see cref="ClusterOptions.SyncReplicas"/> ≥ 1 (issue #14): only when the <c>sync</c> key is absent or
    /// names this node <em>with the incarnation of its data directory</em> (<see cref="SyncRecord.Holds"/>), so only a node
    /// holding every acknowledged record takes the lead: a node restarted on an empty disk has the name but not the
    /// records, and follows until a leader adds it again (event 7014).</item>
    /// <item>With any <see cref="ClusterOptions.SyncReplicas"/>: a node whose log holds no record campaigns only while the
    /// <c>history</c> key is absent (<see cref="HistoryRecord"/>; event 7022): with 0 nothing else stops a node restarted on
    /// an empty disk from leading while every node with data is down, and each of them would then cut its whole log. A new
    /// cluster has no such key, so its first leader is elected from empty nodes as before.</item>
    /// </list>
    /// A node with data and <see cref="ClusterOptions.SyncReplicas"/> 0 campaigns at once, as before. Returns
    /// <see langword="null"/> when it did not campaign or a guarded key changed under the transaction (check again).
    /// </summary>
    private async Task<CampaignResult?> CampaignIfAllowedAsync(LeaderRecord self, long leaseId, CancellationToken cancellationToken)
    {
        var empty = _appliedSeq.Read() == 0;
        var unfit = _veto is null ? null : await _veto.ReasonNotToLeadAsync(cancellationToken);
        if (_options.SyncReplicas == 0 && !empty && unfit is null)
        {
            return await WithTimeoutAsync(token => _store.CampaignAsync(self, leaseId, _appliedSeq.ReadLastTerm(), token), cancellationToken);
        }

        var view = await WithTimeoutAsync(token => _store.ReadElectionAsync(leaseId, token), cancellationToken);
        if (view.Leader is not null)
        {
            return view.Leader;
        }

        if (unfit is not null)
        {
            NotCampaigning("unfit", () => Log.UnfitNotCampaigning(_logger, _state.NodeName, unfit));
        }
        else if (_options.SyncReplicas > 0 && view.Sync is { } sync && !sync.Holds(_state.NodeName, _state.Incarnation))
        {
            NotCampaigning($"sync/{view.SyncModRevision}", () => Log.NotCampaigning(_logger, _state.NodeName, _state.Incarnation.Id[..8], sync.Term, sync.Describe()));
        }
        else if (empty && view.History is { } history)
        {
            NotCampaigning($"history/{view.HistoryModRevision}", () => Log.EmptyNotCampaigning(_logger, _state.NodeName, _store.Keys.History, history.Term, history.Leader, history.Seq));
        }
        else
        {
            return await WithTimeoutAsync(token => _store.CampaignGuardedAsync(self, leaseId, _options.SyncReplicas > 0 ? (long?)view.SyncModRevision : null, requireNoHistory: empty, _appliedSeq.ReadLastTerm(), token),
                cancellationToken);
        }

        using var watch = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        watch.CancelAfter(WatchRefresh);
        try
        {
            await _store.WaitForElectionChangeAsync(view.Revision, watch.Token);
        }
        catch (Exception ex) when (watch.IsCancellationRequested && !cancellationToken.IsCancellationRequested && EtcdClusterStore.IsEtcdFailure(ex))
        {
            // no change within WatchRefresh: look again anyway
        }

        return null;
    }

    /// <summary>Nobody leads and this node may not: shown as such, and <paramref name="log"/> once per <paramref name="reason"/>.</summary>
    private void NotCampaigning(string reason, Action log)
    {
        _state.Observe(null, held: false);
        Recheck();
        if (_lastLeaderLogged != reason)
        {
            _lastLeaderLogged = reason;
            log();
        }
    }

    /// <summary>
    /// On the leader, once per term: records in the <c>history</c> key (<see cref="HistoryRecord"/>, guarded by the term)
    /// that the cluster holds records, as soon as this node's log holds one: at the first registry refresh of the term, or the first
    /// after its first write. Until then a brand-new cluster has no history, and an empty node may still lead it.
    /// </summary>
    private async Task RecordHistoryAsync(CancellationToken cancellationToken)
    {
        var term = _state.LeaderTerm;
        if (term == 0 || term == _historyTerm)
        {
            return;
        }

        var seq = _appliedSeq.Read();
        if (seq == 0)
        {
            return;
        }

        try
        {
            await WithTimeoutAsync(token => _store.PublishHistoryAsync(new HistoryRecord(term, _state.NodeName, seq), token), cancellationToken);
            _historyTerm = term; // written, or another term began: either way nothing more to do for this one
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && EtcdClusterStore.IsEtcdFailure(ex))
        {
            Log.HistoryPublishFailed(_logger, ex, term);
        }
    }

    private void LogLeader(CampaignResult result)
    {
        var key = $"{result.Leader.Name}/{result.Leader.Term}/{result.HeldByUs}";
        if (key == _lastLeaderLogged)
        {
            return;
        }

        _lastLeaderLogged = key;
        if (result.HeldByUs)
        {
            Log.Leading(_logger, _state.NodeName, result.Leader.Term);
        }
        else if (result.Leader.Name == _state.NodeName)
        {
            Log.StaleSelfLeader(_logger, _state.NodeName);
        }
        else
        {
            Log.Following(_logger, result.Leader.Name, result.Leader.Url, result.Leader.Term);
        }
    }

    private long _lastTerm;

    /// <summary>The term this node stopped acknowledging in (event 7005), until it acknowledges again in it (event 7032).</summary>
    private long _steppedDownTerm;

    private readonly Lock _recheckLock = new();

    /// <summary>
    /// Notes a flip of leadership and logs it: 7005 when this node stops acknowledging, 7032 when it acknowledges again
    /// in the same term. Called from the renewal, election and watchdog loops; one at a time, so a flip is logged once.
    /// </summary>
    private void Recheck()
    {
        lock (_recheckLock)
        {
            var term = _lastTerm;
            if (_state.Recheck() && term > 0)
            {
                if (!_state.IsLeader)
                {
                    _steppedDownTerm = term;
                    Log.SteppedDown(_logger, _state.NodeName, term, _state.Clock.Remaining);
                }
                else if (_steppedDownTerm is > 0 and var stopped && stopped == _state.LeaderTerm)
                {
                    // Not a new term (event 7004 says that): the lease was renewed in time to keep this one, say after etcd
                    // came back; until 2026-12-05 nothing said the node acknowledged writes again after event 7005.
                    _steppedDownTerm = 0;
                    Log.LeadingAgain(_logger, _state.NodeName, stopped);
                }
                else
                {
                    _steppedDownTerm = 0;
                }
            }

            _lastTerm = _state.LeaderTerm > 0 ? _state.LeaderTerm : term;
        }
    }

    /// <summary>
    /// Notes a flip of leadership without logging it, for a caller that has logged why it stops acknowledging (a step-down
    /// for unfitness, leaving at shutdown); one at a time with <see cref="Recheck"/>.
    /// </summary>
    private void RecheckUnlogged()
    {
        lock (_recheckLock)
        {
            _state.Recheck();
        }
    }

    /// <summary>
    /// At shutdown (<c>ShutdownStage.LeaveCluster</c>, before the HTTP server stops): stop acknowledging, let the
    /// followers take the end of the log (<see cref="ILeaderHandOver"/>, bounded by <see cref="HandOverTimeout"/>), end
    /// this term here (its replication streams close), then hand the leader key over at once and drop the registry entry
    /// (revoking the lease does both), and last mark the member record <c>stopped</c>. By design in this order: nothing is
    /// acknowledged after the key is given up, and no stream of the old term is still sending when another node leads.
    /// A node that never registered (refused its name) writes no member record: the name is another process's.
    /// </summary>
    private async Task LeaveAsync()
    {
        var leaseId = Interlocked.Exchange(ref _leaseId, 0);
        var registered = _registered;
        _registered = false;
        var held = _state.HeldTerm;
        _state.Clock.Expire();
        RecheckUnlogged();
        if (held > 0 && leaseId != 0 && _handOver is not null)
        {
            var (through, caughtUp) = await _handOver.HandOverAsync(held, HandOverTimeout);
            if (!caughtUp)
            {
                Log.HandOverIncomplete(_logger, held, through, HandOverTimeout);
            }
        }

        _state.Observe(null, held: false);
        if (leaseId == 0)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(LeaveTimeout);
        try
        {
            await _store.ResignAsync(leaseId, timeout.Token);
            await _store.RevokeAsync(leaseId, timeout.Token);
            Log.Left(_logger, leaseId);
        }
        catch (Exception ex) when (EtcdClusterStore.IsEtcdFailure(ex) || ex is OperationCanceledException)
        {
            Log.LeaveFailed(_logger, ex, leaseId);
        }

        if (!registered)
        {
            return;
        }

        try
        {
            await _store.PutMemberAsync(await MembershipAsync(_appliedSeq.Read(), stopped: true, timeout.Token), timeout.Token);
        }
        catch (Exception ex) when (EtcdClusterStore.IsEtcdFailure(ex) || ex is OperationCanceledException)
        {
            Log.MemberWriteFailed(_logger, ex, _state.NodeName, _store.Keys.Member(_state.NodeName)); // shown as unreachable instead of stopped
        }
    }

    private TimeSpan Until(long timestamp)
    {
        var now = _state.Clock.Now();
        return timestamp <= now ? TimeSpan.Zero : _time.GetElapsedTime(now, timestamp);
    }

    private long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) =>
        delay <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(delay, _time, cancellationToken);

    /// <summary>
    /// One etcd call, bounded by the renewal interval: a hung call must not outlive the lease it is meant to keep. A call
    /// the bound cuts short fails with a <see cref="TimeoutException"/> that says so; until 2026-12-05 it failed with gRPC's
    /// "Status(StatusCode=Cancelled …)" and a 40-line stack of the client's internals, which every node logged at start
    /// on a loaded machine (the first lease grant took longer than a 3 s lease's 1 s bound).
    /// </summary>
    private async Task<T> WithTimeoutAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RenewInterval);
        try
        {
            return await call(timeout.Token);
        }
        catch (Exception ex) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested && EtcdClusterStore.IsEtcdFailure(ex))
        {
            throw new TimeoutException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"etcd did not answer within {_options.RenewInterval.TotalMilliseconds:0} ms (the renewal interval, a third of Cluster:LeaseTtl)"));
        }
    }
}
