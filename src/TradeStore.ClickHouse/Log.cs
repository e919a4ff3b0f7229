using Microsoft.Extensions.Logging;
using TradeStore.Core.Diagnostics;

namespace TradeStore.ClickHouse;

/// <summary>Log messages of the ClickHouse sink. Event ids (4000-4099) are stable: dashboards and alerts key on them, so never renumber.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "ClickHouse sync starting: {Url} database {Database}; batch {BatchMin}-{BatchMax}, flush every {FlushIntervalMs} ms")]
    public static partial void SyncStarting(ILogger logger, string url, string database, int batchMin, int batchMax, double flushIntervalMs);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "ClickHouse sync resumes after seq {Position} (checkpoint {Checkpoint}, ClickHouse max(seq) {ClickHouseMaxSeq}, journal last seq {JournalLastSeq})")]
    public static partial void PositionResolved(ILogger logger, long position, long checkpoint, long clickHouseMaxSeq, long journalLastSeq);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "ClickHouse sync failed ({Kind}), attempt {Attempt}; retrying in {DelayMs:0} ms with batches of {BatchSize}: {Error}")]
    public static partial void SyncFailed(ILogger logger, string kind, int attempt, double delayMs, int batchSize, string error);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "ClickHouse sync reaches ClickHouse again after {Failures} failed attempt(s) over {Lasted}; resumed at seq {Position}")]
    public static partial void SyncRecovered(ILogger logger, int failures, LoggedDuration lasted, long position);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "ClickHouse sync stopped at seq {Position}, {Behind} events behind the journal")]
    public static partial void SyncStopped(ILogger logger, long position, long behind);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Debug, Message = "ClickHouse sync sent seq {FirstSeq}..{LastSeq} ({Count} events, {TradeCount} trades) in {ElapsedMs:0.0} ms: journal read {ReadMs:0.0} ms, trade_state {StateMs:0.0} ms, trade_events {EventsMs:0.0} ms, checkpoint {CheckpointMs:0.0} ms")]
    public static partial void BatchSent(ILogger logger, long firstSeq, long lastSeq, int count, int tradeCount, double elapsedMs, double readMs, double stateMs, double eventsMs, double checkpointMs);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Information, Message = "An earlier INSERT is still running in ClickHouse; waiting for it before reading max(seq)")]
    public static partial void WaitingForInsert(ILogger logger);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Warning, Message = "ClickHouse sync: the final flush at shutdown did not complete; {Behind} events stay for the next start: {Error}")]
    public static partial void FinalFlushFailed(ILogger logger, long behind, string error);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Warning, Message = "Could not write the sync status file {Path}: {Error}")]
    public static partial void StatusFileFailed(ILogger logger, string path, string error);

    [LoggerMessage(EventId = 4017, Level = LogLevel.Warning, Message = "ClickHouse schema of database {Database}: {Note}")]
    public static partial void SchemaNote(ILogger logger, string database, string note);

    [LoggerMessage(EventId = 4009, Level = LogLevel.Information, Message = "ClickHouse schema of database {Database} is up to date")]
    public static partial void SchemaReady(ILogger logger, string database);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Information, Message = "ClickHouse already holds events up to seq {ClickHouseMaxSeq}, past this node's checkpoint {Checkpoint}: the checkpoint moves forward to it and nothing is sent twice. Expected after a restart that was not clean, or on a cluster after a change of leader (DuckDB's copy of the checkpoint trails ClickHouse by up to a second, and another node may have synced since), and after an INSERT whose answer was lost")]
    public static partial void CheckpointBehindClickHouse(ILogger logger, long clickHouseMaxSeq, long checkpoint);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Warning, Message = "ClickHouse trade_events ends at seq {ClickHouseMaxSeq}, behind the checkpoint {Checkpoint} DuckDB recorded: ClickHouse lost events it had acknowledged (tables dropped or recreated, `migrate down --target clickhouse`, or a new server at the same URL). Refilling ClickHouse from DuckDB's journal from seq {FirstSeq}: {Events} events up to seq {JournalLastSeq}; DuckDB's copy of the checkpoint moves back to {ClickHouseMaxSeq}")]
    public static partial void RefillingClickHouse(ILogger logger, long clickHouseMaxSeq, long checkpoint, long firstSeq, long events, long journalLastSeq);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Information, Message = "ClickHouse answers again: retrying now instead of in {RemainingMs:0} ms")]
    public static partial void ClickHouseAnswersAgain(ILogger logger, double remainingMs);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Warning, Message = "Recording the ClickHouse checkpoint {Checkpoint} in DuckDB failed")]
    public static partial void DuckDbCheckpointFailed(ILogger logger, Exception exception, long checkpoint);

    [LoggerMessage(EventId = 4014, Level = LogLevel.Information, Message = "ClickHouse sync starts from DuckDB's copy of its checkpoint, seq {Checkpoint}, with the journal at seq {JournalLastSeq}, until ClickHouse answers with its own")]
    public static partial void StartingFromCheckpointMirror(ILogger logger, long checkpoint, long journalLastSeq);

    [LoggerMessage(EventId = 4016, Level = LogLevel.Warning, Message = "ClickHouse trade_events now ends at seq {ClickHouseMaxSeq}, not at the sync's position {Position}: changed outside this sync (lost events: a new, empty server at the same URL, a dropped database or truncated table; or another writer). Reading the position again")]
    public static partial void PositionChangedInClickHouse(ILogger logger, long clickHouseMaxSeq, long position);

    [LoggerMessage(EventId = 4015, Level = LogLevel.Warning, Message = "ClickHouse sync could not read its checkpoint or the journal's end from DuckDB at start; events behind and lag read 0 until ClickHouse answers")]
    public static partial void CheckpointMirrorUnreadable(ILogger logger, Exception exception);
}
