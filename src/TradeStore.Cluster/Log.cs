using Microsoft.Extensions.Logging;
using TradeStore.Core.Diagnostics;

namespace TradeStore.Cluster;

/// <summary>Log messages of the cluster. Event ids are stable (7000-7099): dashboards and alerts key on them, so never renumber.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 7000, Level = LogLevel.Information, Message = "Cluster node {Node} ({Url}) joining through etcd {Endpoints} under {KeyPrefix}; lease TTL {Ttl}, renewed every {Interval}, acknowledgements stop {Margin} before the lease can expire")]
    public static partial void Joining(ILogger logger, string node, string url, string endpoints, string keyPrefix, LoggedDuration ttl, LoggedDuration interval, LoggedDuration margin);

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "etcd lease {LeaseId:x} granted with TTL {Ttl}; node {Node} registered")]
    public static partial void SessionStarted(ILogger logger, long leaseId, LoggedDuration ttl, string node);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "Renewing etcd lease {LeaseId:x} failed; this node may rely on it for {Remaining} more")]
    public static partial void RenewFailed(ILogger logger, Exception exception, long leaseId, LoggedDuration remaining);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "etcd lease {LeaseId:x} is gone (it expired while this node could not renew it); starting a new session")]
    public static partial void LeaseLost(ILogger logger, long leaseId);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Information, Message = "This node ({Node}) leads in term {Term}: it acknowledges writes")]
    public static partial void Leading(ILogger logger, string node, long term);

    [LoggerMessage(EventId = 7005, Level = LogLevel.Warning, Message = "This node ({Node}) stopped acknowledging writes: its lease can no longer be relied on (term {Term}, lease valid for {Remaining})")]
    public static partial void SteppedDown(ILogger logger, string node, long term, LoggedDuration remaining);

    [LoggerMessage(EventId = 7006, Level = LogLevel.Information, Message = "Leader is {Leader} ({Url}), term {Term}; this node follows")]
    public static partial void Following(ILogger logger, string leader, string url, long term);

    [LoggerMessage(EventId = 7007, Level = LogLevel.Warning, Message = "etcd request failed ({Operation}); retrying in {Delay}")]
    public static partial void EtcdFailed(ILogger logger, Exception exception, string operation, LoggedDuration delay);

    [LoggerMessage(EventId = 7008, Level = LogLevel.Information, Message = "Left the cluster: leadership resigned and lease {LeaseId:x} revoked")]
    public static partial void Left(ILogger logger, long leaseId);

    [LoggerMessage(EventId = 7009, Level = LogLevel.Warning, Message = "Could not resign and revoke lease {LeaseId:x} at shutdown; the others take over when it expires")]
    public static partial void LeaveFailed(ILogger logger, Exception exception, long leaseId);

    [LoggerMessage(EventId = 7010, Level = LogLevel.Warning, Message = "The leader key names this node ({Node}) but is held by another lease, probably an earlier run of this node: writes get 503 no-leader until that lease expires")]
    public static partial void StaleSelfLeader(ILogger logger, string node);

    [LoggerMessage(EventId = 7011, Level = LogLevel.Information, Message = "{Service} started: this node leads")]
    public static partial void LeaderServiceStarted(ILogger logger, string service);

    [LoggerMessage(EventId = 7012, Level = LogLevel.Information, Message = "{Service} stopped: this node does not lead")]
    public static partial void LeaderServiceStopped(ILogger logger, string service);

    [LoggerMessage(EventId = 7013, Level = LogLevel.Error, Message = "{Service} failed to start or stop on a leadership change")]
    public static partial void LeaderServiceFailed(ILogger logger, Exception exception, string service);

    [LoggerMessage(EventId = 7014, Level = LogLevel.Warning, Message = "No leader, and this node ({Node}@{Incarnation}) does not campaign: Cluster:SyncReplicas is on and the sync key of term {Term} names only {Named} (name@incarnation of the data directory), the nodes that hold every acknowledged write; waiting for one of them")]
    public static partial void NotCampaigning(ILogger logger, string node, string incarnation, long term, string named);

    [LoggerMessage(EventId = 7015, Level = LogLevel.Information, Message = "Synchronous replicas of term {Term}: {Members} (written to etcd before their acknowledgements count)")]
    public static partial void SyncPublished(ILogger logger, long term, string members);

    [LoggerMessage(EventId = 7016, Level = LogLevel.Warning, Message = "Writing the synchronous replicas of term {Term} ({Members}) to etcd failed; retrying in {Delay} while this node leads in that term. Writes wait for it (up to Cluster:ReplicationTimeout)")]
    public static partial void SyncPublishFailed(ILogger logger, Exception exception, long term, string members, LoggedDuration delay);

    [LoggerMessage(EventId = 7017, Level = LogLevel.Warning, Message = "etcd request failed again ({Operation}, {Failures} failures in a row over {Lasting}): {ErrorType}: {Error}; retrying in {Delay}. Repeats are logged at the 2nd, 4th, 8th, … failure, then once a minute (each one at debug, event 7018); event 7031 says when etcd answers again")]
    public static partial void EtcdStillFailing(ILogger logger, string operation, long failures, LoggedDuration lasting, string errorType, string error, LoggedDuration delay);

    [LoggerMessage(EventId = 7018, Level = LogLevel.Debug, Message = "etcd request failed ({Operation})")]
    public static partial void EtcdFailureDetail(ILogger logger, Exception exception, string operation);

    [LoggerMessage(EventId = 7019, Level = LogLevel.Warning, Message = "Handing over at shutdown (term {Term}): not every follower acknowledged seq {Seq} within {Timeout}; resigning anyway")]
    public static partial void HandOverIncomplete(ILogger logger, long term, long seq, LoggedDuration timeout);

    [LoggerMessage(EventId = 7020, Level = LogLevel.Critical, Message = "Refusing to join: another process runs as node {Node} at {Url} (incarnation {Other}; this data directory's is {Mine}) and keeps its etcd lease alive. Cluster:Node must be unique in the cluster: give this node another name, or stop the other one. Stopping with exit code {ExitCode}")]
    public static partial void NameInUse(ILogger logger, string node, string url, string other, string mine, int exitCode);

    [LoggerMessage(EventId = 7021, Level = LogLevel.Warning, Message = "The name {Node} is registered by {Url} with another incarnation ({Other}; this data directory's is {Mine}): waiting up to {Patience} for its lease to expire (a dead process or a replaced disk); if it is renewed, another process uses the name and this node refuses to join")]
    public static partial void NameHeld(ILogger logger, string node, string url, string other, string mine, LoggedDuration patience);

    [LoggerMessage(EventId = 7022, Level = LogLevel.Warning, Message = "No leader, and this node ({Node}) does not campaign: its journal log holds no record while the cluster has held records (etcd key {Key}: term {Term}, leader {Leader}, seq {Seq}); led by this node, every node with data would cut its log as a tail the leader never had. Waiting for a node with data to lead; this node then copies its log. Only to start the cluster over with no data at all: etcdctl del {Key}")]
    public static partial void EmptyNotCampaigning(ILogger logger, string node, string key, long term, string leader, long seq);

    [LoggerMessage(EventId = 7023, Level = LogLevel.Warning, Message = "Recording the cluster's history in etcd (term {Term}) failed; retrying in one renewal interval")]
    public static partial void HistoryPublishFailed(ILogger logger, Exception exception, long term);

    [LoggerMessage(EventId = 7024, Level = LogLevel.Warning, Message = "Writing the member record of node {Node} to etcd (key {Key}) failed; retrying in one renewal interval")]
    public static partial void MemberWriteFailed(ILogger logger, Exception exception, string node, string key);

    [LoggerMessage(EventId = 7025, Level = LogLevel.Warning, Message = "Refreshing the registration of node {Node} in etcd (key {Key}: applied seq, cluster status) failed; retrying in one renewal interval. The lease renewals go on meanwhile")]
    public static partial void RegistryRefreshFailed(ILogger logger, Exception exception, string node, string key);

    [LoggerMessage(EventId = 7026, Level = LogLevel.Warning, Message = "etcd refused the synchronous replicas of term {Term} ({Members}): the leader key is not the one created in that term (this node is losing its leadership); retrying in {Delay} while this node still holds the term")]
    public static partial void SyncRefused(ILogger logger, long term, string members, LoggedDuration delay);

    [LoggerMessage(EventId = 7027, Level = LogLevel.Information, Message = "Synchronous replicas of term {Term} proposed ({Members}) while another set is being written to etcd; written next")]
    public static partial void SyncQueued(ILogger logger, long term, string members);

    [LoggerMessage(EventId = 7028, Level = LogLevel.Error, Message = "This node ({Node}) gives up the leadership of term {Term}: {Reason}. It stops acknowledging, lets its followers take the end of its log, and resigns the leader key so that a follower holding every acknowledged write leads; it does not campaign while the fault lasts")]
    public static partial void UnfitSteppingDown(ILogger logger, string node, long term, string reason);

    [LoggerMessage(EventId = 7029, Level = LogLevel.Warning, Message = "No leader, and this node ({Node}) does not campaign: {Reason}. It campaigns again once its storage takes writes")]
    public static partial void UnfitNotCampaigning(ILogger logger, string node, string reason);

    [LoggerMessage(EventId = 7031, Level = LogLevel.Information, Message = "etcd answers again ({Operation}) after {Failures} failure(s) over {Lasted}")]
    public static partial void EtcdAnswersAgain(ILogger logger, string operation, long failures, LoggedDuration lasted);

    [LoggerMessage(EventId = 7032, Level = LogLevel.Information, Message = "This node ({Node}) acknowledges writes again in term {Term}: its lease was renewed (it had stopped, event 7005)")]
    public static partial void LeadingAgain(ILogger logger, string node, long term);

    [LoggerMessage(EventId = 7033, Level = LogLevel.Information, Message = "The lease of {Url}'s registration as {Node} (incarnation {Other}) has run out, but etcd has not removed it yet (etcd revokes expired leases at its own pace: later on a loaded machine or with many at once); nothing renews it, so no other process uses the name: waiting for etcd to remove it")]
    public static partial void NameHolderExpired(ILogger logger, string url, string node, string other);

    [LoggerMessage(EventId = 7030, Level = LogLevel.Warning, Message = "etcd's revision ({Revision}) was below the term {LastTerm} of the last record in this node's journal log: this etcd is not the one the cluster ran on (started over empty, or restored from an older snapshot). Terms go on from the logs instead: the key {Key} is now {TermBase}, and this node ({Node}) leads in term {Term}. The sync and history keys went with the old etcd (docs/high-availability.md, \"Operating a cluster\", etcd)")]
    public static partial void TermBaseRaised(ILogger logger, long revision, long lastTerm, string key, long termBase, string node, long term);
}
