using Microsoft.Extensions.Logging;
using TradeStore.Core.Diagnostics;

namespace TradeStore.Server;

/// <summary>Log messages of the host. Event ids are stable: dashboards and alerts key on them, so never renumber.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "TradeStore {Version} serving {Urls}; database {DatabasePath} (DuckDB {DuckDbVersion}); Redis {Redis}; ClickHouse {ClickHouse}")]
    public static partial void Started(ILogger logger, string version, string urls, string databasePath, string duckDbVersion, string redis, string clickHouse);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "TradeStore stopped; closing database {DatabasePath}")]
    public static partial void Stopped(ILogger logger, string databasePath);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "The last shutdown was not clean (the process was killed or crashed): DuckDB replayed its WAL; a copy of it is kept at {WalCopy}. Nothing needs doing: the journal log gives DuckDB what it lacks next (event 2021 says how many events), and a Redis or ClickHouse found ahead of the journal would stop this start naming the command to run.")]
    public static partial void WalPreserved(ILogger logger, string walCopy);

    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Applied schema migration {Migration} to {Target} in {DurationMs:F1} ms")]
    public static partial void MigrationApplied(ILogger logger, string migration, string target, double durationMs);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "{Target} is at schema version {Version}, the latest this binary knows")]
    public static partial void SchemaCurrent(ILogger logger, string target, int version);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "{Target}: schema not migrated at start-up ({Reason}); serving goes on: the ClickHouse sync applies it when ClickHouse answers, or run tradestore migrate up --target clickhouse")]
    public static partial void ClickHouseMigrationDeferred(ILogger logger, string target, string reason);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Warning, Message = "{Target}: {Note}")]
    public static partial void MigrationNote(ILogger logger, string target, string note);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Error, Message = "ClickHouse schema refused: {Reason}")]
    public static partial void ClickHouseSchemaRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 1100, Level = LogLevel.Error, Message = "API request {Method} {Path} failed unexpectedly")]
    public static partial void ApiRequestFailed(ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "{Report}")]
    public static partial void IntegrityVerified(ILogger logger, string report);

    [LoggerMessage(EventId = 1200, Level = LogLevel.Warning, Message = "AUTHENTICATION IS OFF: no API keys are configured (Security:ApiKeys), so every loopback caller has every role and other callers are refused. Listening on {Urls}. Create keys with `tradestore keys new --role ...` before exposing this service.")]
    public static partial void AuthenticationOff(ILogger logger, string urls);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "API key authentication on: {KeyCount} key(s) configured")]
    public static partial void AuthenticationOn(ILogger logger, int keyCount);

    [LoggerMessage(EventId = 1211, Level = LogLevel.Information, Message = "Connections: {Limit} (Kestrel:Limits:MaxConcurrentConnections; the process may open {OpenFiles} files)")]
    public static partial void ConnectionLimit(ILogger logger, string limit, string openFiles);

    [LoggerMessage(EventId = 1212, Level = LogLevel.Warning, Message = "The process may open only {OpenFiles} files (ulimit -n, systemd LimitNOFILE=): an idle server holds about 300 of them, which leaves few for connections, and a burst of connections past Kestrel:Limits:MaxConcurrentConnections takes descriptors until each is closed; should none be left, the .NET runtime aborts the process. Raise the limit to at least {Advised} (deploy/systemd sets LimitNOFILE=65536)")]
    public static partial void FewOpenFiles(ILogger logger, long openFiles, long advised);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Refused an invalid API key on {Method} {Path} from {RemoteAddress}")]
    public static partial void ApiKeyRefused(ILogger logger, string method, string path, string remoteAddress);

    [LoggerMessage(EventId = 1213, Level = LogLevel.Warning, Message = "Refused invalid API keys again: {Refused} in {Seconds:0} s, the last on {Method} {Path} from {RemoteAddress}. Repeats are logged at the 2nd, 4th, 8th, … refusal, then once a minute, until a minute passes without one")]
    public static partial void ApiKeysStillRefused(ILogger logger, long refused, double seconds, string method, string path, string remoteAddress);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Information, Message = "SQL query sandbox: external access off and DuckDB configuration locked")]
    public static partial void QuerySandboxLocked(ILogger logger);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Debug, Message = "SQL query by {Caller}: {Rows} row(s) in {DurationMs:F1} ms")]
    public static partial void QueryRan(ILogger logger, string caller, int rows, double durationMs);

    [LoggerMessage(EventId = 1214, Level = LogLevel.Information, Message = "Slow SQL query by {Caller}: {Rows} row(s) in {DurationMs:F1} ms, at or past Security:Query:SlowQueryThreshold ({Threshold})")]
    public static partial void QueryRanSlow(ILogger logger, string caller, int rows, double durationMs, string threshold);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Warning, Message = "SQL query by {Caller} interrupted after its timeout of {Timeout}")]
    public static partial void QueryTimedOut(ILogger logger, string caller, LoggedDuration timeout);

    [LoggerMessage(EventId = 1210, Level = LogLevel.Warning, Message = "SQL query by {Caller} interrupted after its timeout of {Timeout}, having run {RanMs:F0} ms and waited {WaitedMs:F0} ms for a CPU (queries run at nice 19; this node's CPUs were busy); answered 503 query-starved")]
    public static partial void QueryStarved(ILogger logger, string caller, LoggedDuration timeout, double ranMs, double waitedMs);

    [LoggerMessage(EventId = 1300, Level = LogLevel.Warning, Message = "Cluster: {Method} {Path} completed after this node's leadership (term {Term}) ran out; answered 503 leadership-lost instead of acknowledging it")]
    public static partial void WriteNotAcknowledged(ILogger logger, string method, string path, long term);

    [LoggerMessage(EventId = 1310, Level = LogLevel.Information, Message = "Replication: follower {Node} streams the journal log from seq {FromSeq} (term {Term})")]
    public static partial void StreamOpened(ILogger logger, string node, long fromSeq, long term);

    [LoggerMessage(EventId = 1311, Level = LogLevel.Information, Message = "Replication: the stream to follower {Node} ended after seq {LastSentSeq} (term {Term})")]
    public static partial void StreamClosed(ILogger logger, string node, long lastSentSeq, long term);

    [LoggerMessage(EventId = 1312, Level = LogLevel.Information, Message = "Replication: following {Leader} ({Url}) in term {Term} from seq {FromSeq}")]
    public static partial void FollowingStream(ILogger logger, string leader, string url, long term, long fromSeq);

    [LoggerMessage(EventId = 1313, Level = LogLevel.Warning, Message = "Replication: the stream from {Leader} broke after seq {LastSeq} ({Reason}); resuming from seq {NextSeq}")]
    public static partial void StreamBroken(ILogger logger, string leader, long lastSeq, string reason, long nextSeq);

    [LoggerMessage(EventId = 1314, Level = LogLevel.Error, Message = "Replication: refused a record from {Leader}: {Reason}; the stream is dropped and nothing of it appended")]
    public static partial void RecordRefused(ILogger logger, string leader, string reason);

    [LoggerMessage(EventId = 1315, Level = LogLevel.Critical, Message = "Replication: this node's journal log diverges from the leader {Leader}'s and no common record was found: {Detail} This node holds seq {FirstSeq}..{LastSeq} that the leader may not have; it will not follow with a divergent history. It stops with exit code {ExitCode}: keep its data directory for inspection, and rejoin with an empty data directory (docs/high-availability.md, \"Rejoining\")")]
    public static partial void LogDiverged(ILogger logger, string leader, string detail, long firstSeq, long lastSeq, int exitCode);

    [LoggerMessage(EventId = 1317, Level = LogLevel.Warning, Message = "Replication: this node's journal log has a tail the leader {Leader} never had ({Detail}); seq {FromSeq}..{ToSeq} will be cut at the next start. Stopping with exit code {ExitCode}: restart the node (tradestore guard does)")]
    public static partial void TailToCut(ILogger logger, string leader, string detail, long fromSeq, long toSeq, int exitCode);

    [LoggerMessage(EventId = 1318, Level = LogLevel.Warning, Message = "Journal log tail cut at start-up (rejoining as follower): seq {FromSeq}..{ToSeq} removed from the log ({Records} records) and from DuckDB; the state of {Trades} trades re-derived from the events that remain. Those writes were never acknowledged with Cluster:SyncReplicas >= 1")]
    public static partial void TailCut(ILogger logger, long fromSeq, long toSeq, long records, long trades);

    [LoggerMessage(EventId = 1319, Level = LogLevel.Warning, Message = "Replication: follower {Node} streams the journal log (term {Term}) without naming its data directory's incarnation: it runs a build from before data-directory identities (2026-12-02). It replicates, but its acknowledgements are refused and never count toward Cluster:SyncReplicas (with SyncReplicas >= 1 and no other follower, every write answers 503 replication-unavailable). Upgrade it to this build (docs/high-availability.md, \"Upgrading a cluster\")")]
    public static partial void FollowerWithoutIdentity(ILogger logger, string node, long term);

    [LoggerMessage(EventId = 1322, Level = LogLevel.Warning, Message = "Replication: still no stream from {Leader}: {Failures} attempts in a row failed over {Lasting}, the last: {Reason}; retrying from seq {NextSeq}. Repeats are logged at the 2nd, 4th, 8th, … attempt, then once a minute")]
    public static partial void StreamStillFailing(ILogger logger, string leader, long failures, LoggedDuration lasting, string reason, long nextSeq);

    [LoggerMessage(EventId = 1323, Level = LogLevel.Information, Message = "Replication: streaming from {Leader} again after {Failures} failed attempt(s) over {Lasted}")]
    public static partial void StreamOpenAgain(ILogger logger, string leader, long failures, LoggedDuration lasted);

    [LoggerMessage(EventId = 1316, Level = LogLevel.Error, Message = "Replication: the leader {Leader} refused the stream: {Status} {Detail}; retrying")]
    public static partial void StreamRefused(ILogger logger, string leader, int status, string detail);
    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Could not compare {Sink} with the journal (ends at seq {JournalLastSeq}) at start-up: {Reason}. Serving goes on; if {Sink} turns out to hold events the journal lacks, writes are refused then")]
    public static partial void SinkPositionUnchecked(ILogger logger, string sink, long journalLastSeq, string reason);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Information, Message = "Cluster: {Stores} hold(s) more than this node's journal (seq {JournalLastSeq}): the leader fed them while this node was down or behind. It catches up from the leader; it feeds them only once it leads, and refuses writes then if it still holds less")]
    public static partial void SinksAheadInCluster(ILogger logger, string stores, long journalLastSeq);

    [LoggerMessage(EventId = 1320, Level = LogLevel.Warning, Message = "Replication: not following {Leader} (term {Term}): this node's journal log holds records of the later term {LogTerm}. That leader's term comes from an etcd whose revision went back (started over empty, or restored from an older snapshot) and a node of a build that does not carry terms on from the logs (event 7030); waiting for a leader of a term above {LogTerm}")]
    public static partial void LeaderTermBelowLog(ILogger logger, string leader, long term, long logTerm);

    [LoggerMessage(EventId = 1321, Level = LogLevel.Warning, Message = "Cluster:AdvertiseUrl {Url} does not reach this node ({Node}) from itself: {Failure} ({Attempts} attempts). The other nodes stream from that address and redirected clients write to it: while this node leads, its followers could not replicate and every redirected write would fail. Set Cluster:AdvertiseUrl to the address this node listens on (--urls) as the others reach it")]
    public static partial void AdvertiseUrlUnreachable(ILogger logger, string url, string node, string failure, int attempts);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Warning, Message = "SQL query by {Caller} interrupted: the process grew by more than {MaxMemory} bytes while it ran")]
    public static partial void QueryOverMemory(ILogger logger, string caller, long maxMemory);

    [LoggerMessage(EventId = 1208, Level = LogLevel.Warning, Message = "SQL query by {Caller} stopped at DuckDB's memory limit (Storage:DuckDbMemoryLimit): {DuckDbMessage}")]
    public static partial void QueryOverDuckDbMemory(ILogger logger, string caller, string duckDbMessage);

    [LoggerMessage(EventId = 1207, Level = LogLevel.Warning, Message = "SQL query by {Caller} failed after its answer had started ({ProblemType}): the answer ends with its error mark and the connection is closed")]
    public static partial void QueryFailedWhileStreaming(ILogger logger, string caller, string problemType);

    [LoggerMessage(EventId = 1209, Level = LogLevel.Warning, Message = "SQL query by {Caller} runs on DuckDB at seq {AppliedSeq}, behind the journal's seq {LastSeq}: the apply did not catch up within its 5 s wait (far behind after a burst on a busy machine, failing, or held at Engine:MaxApplyBacklog: tradestore_write_apply_backlog and _failures_total tell which); the answer's TradeStore-Applied-Seq names the seq it reflects")]
    public static partial void QueryBehindJournal(ILogger logger, string caller, long appliedSeq, long lastSeq);

    [LoggerMessage(EventId = 1400, Level = LogLevel.Information, Message = "Change-feed subscriber {Subscriber} disconnected: more than {MaxLagEvents} events waited for it (Changes:MaxLagEvents); told to resume from seq {ResumeFromSeq}")]
    public static partial void ChangeSubscriberLagging(ILogger logger, string subscriber, long resumeFromSeq, int maxLagEvents);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Error, Message = "Change-feed stream stopped: {Reason}")]
    public static partial void ChangeFeedGap(ILogger logger, string reason);
    [LoggerMessage(EventId = 1005, Level = LogLevel.Critical, Message = "The write engine failed ({Reason}); every write is refused, so the server stops with exit code {ExitCode} for the guard to restart it (the journal log is replayed at start; in a cluster another node takes over)")]
    public static partial void EngineFailed(ILogger logger, string reason, int exitCode);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Received {Signal}: stopping (requests in flight finish, the write engine drains, the database is checkpointed)")]
    public static partial void StopSignalled(ILogger logger, string signal);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "The tradestore guard (pid {GuardPid}) that started this process is gone (the parent is now pid {ParentPid}; the guard was killed or crashed): stopping gracefully, so that no unsupervised serve keeps holding the database")]
    public static partial void GuardGone(ILogger logger, int guardPid, int parentPid);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "Received {Signal} while starting: the stop runs as usual as soon as start-up completes")]
    public static partial void StopHeldWhileStarting(ILogger logger, string signal);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Warning, Message = "Received {Signal} while starting, {Doing}, before serving: the process ends now, as the runtime ends it (nothing is served yet to drain). Nothing acknowledged is lost: the journal log holds every acknowledged event and DuckDB keeps what it committed; the next start goes on from there")]
    public static partial void StoppedWhileStarting(ILogger logger, string signal, string doing);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Shutdown {Stage}: {Step} done in {DurationMs:F1} ms")]
    public static partial void ShutdownStepDone(ILogger logger, TradeStore.Core.Lifetime.ShutdownStage stage, string step, double durationMs);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Error, Message = "Shutdown {Stage}: {Step} failed; the shutdown goes on with the next step")]
    public static partial void ShutdownStepFailed(ILogger logger, TradeStore.Core.Lifetime.ShutdownStage stage, string step, Exception exception);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Information, Message = "Shutdown sequence complete ({Steps} steps)")]
    public static partial void ShutdownComplete(ILogger logger, int steps);
}
