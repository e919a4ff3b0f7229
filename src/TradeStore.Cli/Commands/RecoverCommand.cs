using System.CommandLine;
using TradeStore.ClickHouse.Recovery;
using TradeStore.Core.Migrations;
using TradeStore.Redis;
using TradeStore.Redis.Projection;
using TradeStore.Server.Configuration;
using TradeStore.Storage;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Migrations;
using TradeStore.Storage.Recovery;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore recover --from SOURCE</c>: brings the journal back from a derived store. Sources are pluggable, one
/// entry of <see cref="Sources"/> each: <c>redis</c> appends the events its change stream holds beyond the journal
/// (<see cref="JournalRecovery"/>); <c>clickhouse</c> rebuilds a lost database, journal and state, from ClickHouse's full
/// history into an empty data directory (<see cref="ClickHouseRecovery"/>) and verifies it.
/// </summary>
/// <remarks>
/// <c>--set-aside</c> empties the data directory before recovering into it, so by design everything that can refuse is
/// asked first, and a refusal moves nothing (exit 2 for a source that is not configured, 3 while another process holds
/// the database, 1 for a source that cannot be read or cannot rebuild a complete journal): the configuration, DuckDB's
/// lock on the database file (<see cref="DatabaseFileLock"/>, held until the recovery ends, so a <c>serve</c> cannot keep
/// writing into files moved from under it), and the source itself. A database the recovery creates is built apart and
/// moved into place only when it succeeds (<see cref="RecoveryTarget"/>); so when the recovery proper fails, is refused or
/// is interrupted (Ctrl-C, SIGTERM: <see cref="OfflineInterruption"/>, exit 130 or 143), nothing took the moved files'
/// place and they are moved back: the data directory is as it was. Only when that move back fails does the message name
/// the folder that holds them and the commands that put them back.
/// </remarks>
public static class RecoverCommand
{
    private static readonly Dictionary<string, RecoverySource> Sources = new(StringComparer.Ordinal)
    {
        ["redis"] = new(FromRedisAsync, new SetAsideChecks(RequireRedis, async (parseResult, cancellationToken) =>
            await RedisCanFillEmptyJournalAsync(parseResult, cancellationToken) is { } refused ? SetAsideAnswer.Refuse(refused) : SetAsideAnswer.Recover(FromRedisAsync))),
        ["clickhouse"] = new((parseResult, interruption) => FromClickHouseAsync(parseResult, interruption, knownHistory: null),
            new SetAsideChecks(RequireClickHouse, ClickHouseCanFillEmptyJournalAsync)),
        // By design refused rather than ignored: it would move the very database the log is rebuilt from.
        ["duckdb"] = RecoverySource.RefusingSetAside(FromDuckDbAsync, "--set-aside cannot be used with --from duckdb: it would move the database the " +
            "journal log is rebuilt from. --from duckdb moves only the damaged journal log aside, itself."),
    };

    private static readonly Option<string> From = new("--from")
    {
        Description = "The store to recover from: redis (its change stream: the journal tail), clickhouse (the whole history, into an empty --data, created when missing) " +
            "or duckdb (a damaged journal log rebuilt from the database it feeds, when its intact records hold every event after DuckDB's last seq).",
        HelpName = "SOURCE",
        Required = true,
    };

    private static readonly Option<bool> SetAside = new("--set-aside")
    {
        Description = "First move the (damaged) tradestore.duckdb, its WAL and the journal log folder journal/ into DIR/damaged-<UTC time>/ " +
            "(nothing is deleted), so the recovery starts from an empty database and log. Moves nothing unless the source is configured, " +
            "answers and holds the whole history, and no other process holds the database; moves them back when the recovery fails or is interrupted.",
    };

    public static Command Create()
    {
        From.AcceptOnlyFromAmong([.. Sources.Keys]);
        var command = new Command("recover",
            "Bring the journal back from a derived store: --from redis appends the events Redis holds beyond the journal (refuses when that " +
            "would leave a gap; never overwrites journal rows); --from clickhouse rebuilds a lost database into an EMPTY data directory (created when missing) and " +
            "verifies it; --from duckdb rebuilds a damaged journal log (serve stopped with exit 5) from DuckDB and the log's intact records, " +
            "moving the damaged log into DIR/damaged-<UTC time>/, and refuses, changing nothing, when an event after DuckDB's last seq is in " +
            "no intact record, when the log holds another history than DuckDB (its last intact record at or before DuckDB's last seq is not " +
            "DuckDB's event there), or when its records are intact but serve refuses how it meets DuckDB (no segment left, a log starting after " +
            "DuckDB's end). A database it creates appears only once the recovery succeeded; a failed or interrupted (Ctrl-C: exit 130) recovery " +
            "leaves the data directory as it was. Run it while the service is stopped.")
        {
            From,
            SetAside,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var source = Sources[parseResult.GetValue(From)!];
            var setAside = parseResult.GetValue(SetAside);
            if (setAside && source.SetAsideRefusal is { } refusal)
            {
                throw new ConfigurationException(refusal);
            }

            using var interruption = OfflineInterruption.ForChanges("recover", parseResult.InvocationConfiguration.Error, cancellationToken);
            try
            {
                return setAside
                    ? await RecoverIntoSetAsideAsync(parseResult, source.SetAside!, interruption)
                    : await source.RecoverAsync(parseResult, interruption);
            }
            catch (OperationCanceledException) when (interruption.Interrupted)
            {
                return interruption.Report(interruption.State);
            }
        });
        return command;
    }

    /// <summary>
    /// A source of <c>recover</c>: the recovery itself (it reports through the interruption what it is doing, so a Ctrl-C
    /// can say it), and how <c>--set-aside</c> asks it before moving anything, or why it refuses <c>--set-aside</c>.
    /// </summary>
    private sealed record RecoverySource(Func<ParseResult, OfflineInterruption, Task<int>> RecoverAsync, SetAsideChecks? SetAside)
    {
        /// <summary>Why <c>--set-aside</c> is refused with this source (exit 2, nothing moved); <see langword="null"/> when it is accepted.</summary>
        public string? SetAsideRefusal { get; private init; }

        public static RecoverySource RefusingSetAside(Func<ParseResult, OfflineInterruption, Task<int>> recover, string why) =>
            new(recover, SetAside: null) { SetAsideRefusal = why };
    }

    /// <summary>
    /// What <c>--set-aside</c> asks a source before it moves anything: whether it is configured (an exit code after
    /// printing why, or <see langword="null"/>), and whether it can rebuild the journal into an empty database (read-only;
    /// its answer carries the recovery to run, which may reuse what the asking read).
    /// </summary>
    private sealed record SetAsideChecks(Func<ParseResult, int?> RequireConfigured, Func<ParseResult, CancellationToken, Task<SetAsideAnswer>> CanFillEmptyJournalAsync);

    /// <summary>
    /// A source's answer to <c>--set-aside</c>'s question: an exit code after printing why it cannot fill an empty journal,
    /// or the recovery to run once the files are moved. ClickHouse's carries the history it counted (a <c>FINAL</c> count of
    /// every event, seconds on millions), so the recovery does not count it again.
    /// </summary>
    private sealed record SetAsideAnswer(int? Refusal, Func<ParseResult, OfflineInterruption, Task<int>>? RecoverAsync)
    {
        public static SetAsideAnswer Refuse(int exitCode) => new(exitCode, null);

        public static SetAsideAnswer Recover(Func<ParseResult, OfflineInterruption, Task<int>> recover) => new(null, recover);
    }

    /// <summary>
    /// Warns of acknowledged events only <paramref name="setAside"/>'s journal log holds, once a recovered database stands
    /// in place: after a success, and also when its check against the source found differences (exit 1).
    /// </summary>
    private static void WarnOfStrandedEvents(SetAsideFiles setAside, string databasePath, int exitCode, TextWriter error)
    {
        if ((exitCode == ExitCodes.Success || setAside.Replaced()) && setAside.StrandedEvents(databasePath) is { } stranded)
        {
            error.WriteLine($"tradestore: warning: {stranded}");
        }
    }

    private static async Task<int> RecoverIntoSetAsideAsync(ParseResult parseResult, SetAsideChecks checks, OfflineInterruption interruption)
    {
        var output = parseResult.InvocationConfiguration.Output;
        var error = parseResult.InvocationConfiguration.Error;
        if (checks.RequireConfigured(parseResult) is { } misconfigured)
        {
            return misconfigured;
        }

        var path = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult)).Storage.DatabasePath;
        using var databaseLock = DatabaseFileLock.Acquire(path); // a running serve: DatabaseLockedException, exit 3
        interruption.Doing = () => "while asking the source whether it holds the whole history";
        var answer = await checks.CanFillEmptyJournalAsync(parseResult, interruption.Token);
        if (answer.Refusal is { } refused)
        {
            return refused;
        }

        var recover = answer.RecoverAsync!;

        var moved = SetAsideFiles.Move(path);
        if (moved is null)
        {
            // A rerun after a recover killed past its move: the log that move took may hold events the source lacks.
            var earlier = SetAsideFiles.Earlier(path);
            output.WriteLine(earlier is null
                ? $"--set-aside: there is no database, WAL or journal log at {path}; nothing to move."
                : $"--set-aside: there is no database, WAL or journal log at {path}; nothing to move (an earlier --set-aside left {string.Join(", ", earlier.Names)} in {earlier.Folder}).");
            var recovered = await recover(parseResult, interruption);
            if (earlier is not null)
            {
                WarnOfStrandedEvents(earlier, path, recovered, error);
            }

            return recovered;
        }

        output.WriteLine($"--set-aside: moved {moved.Describe()} into {moved.Folder} (kept, not deleted).");
        var exitCode = ExitCodes.Failure;
        try
        {
            exitCode = await recover(parseResult, interruption);
            WarnOfStrandedEvents(moved, path, exitCode, error);
            return exitCode;
        }
        finally
        {
            // Nothing in place of the moved files: the recovery created no database (it builds one apart), so they go back.
            if (exitCode != ExitCodes.Success && !moved.Replaced())
            {
                var putBack = moved.TryPutBack();
                interruption.State = putBack is null
                    ? $"nothing was changed: the files --set-aside moved are back in {moved.Directory}."
                    : $"the files --set-aside moved could not be put back ({putBack}). {moved.PutBackAdvice()}";
                if (!interruption.Interrupted)
                {
                    error.WriteLine(putBack is null
                        ? $"tradestore: the recovery did not complete; the files --set-aside moved are back in {moved.Directory} ({string.Join(", ", moved.Names)}): " +
                          "the data directory is as it was."
                        : $"tradestore: the recovery did not complete, and the files --set-aside moved could not be put back ({putBack}). {moved.PutBackAdvice()}");
                }
            }
            else if (exitCode != ExitCodes.Success)
            {
                interruption.State = $"the recovered database is in place. {moved.PutBackAdvice()}";
                if (!interruption.Interrupted)
                {
                    error.WriteLine($"tradestore: the recovery did not complete. {moved.PutBackAdvice()}");
                }
            }
        }
    }

    private static int? RequireRedis(ParseResult parseResult)
    {
        RedisCommandSupport.RequireRedis(TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult))); // not configured: ConfigurationException, exit 2
        return null;
    }

    private static int? RequireClickHouse(ParseResult parseResult) =>
        ClickHouseCommandSupport.RequireClickHouse(parseResult) is null ? ExitCodes.BadInput : null;

    /// <summary>Into an empty journal only a stream that still starts at seq 1 recovers anything (the journal tail alone would leave a gap).</summary>
    private static async Task<int?> RedisCanFillEmptyJournalAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var error = parseResult.InvocationConfiguration.Error;
        var options = RedisCommandSupport.RequireRedis(TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult)));
        try
        {
            var (connection, redis) = await RedisCommandSupport.ConnectAsync(options, cancellationToken);
            await using (connection)
            {
                var source = new RedisRecoverySource(redis, new RedisKeys(options.KeyPrefix));
                switch (await source.OldestSeqAsync())
                {
                    case null:
                        error.WriteLine($"tradestore: {source.Name} holds no events: nothing to recover. {NothingMoved}");
                        return ExitCodes.Failure;
                    case > 1 and var oldest:
                        error.WriteLine($"tradestore: {source.Name} starts at seq {oldest}, so it cannot rebuild the journal from seq 1 " +
                            $"(events 1..{oldest - 1} are no longer in it). {NothingMoved} Rebuild from ClickHouse's full history " +
                            "(tradestore recover --from clickhouse --set-aside), then append the tail with tradestore recover --from redis.");
                        return ExitCodes.Failure;
                    default:
                        return null;
                }
            }
        }
        catch (Exception ex) when (RedisCommandSupport.IsRedisFailure(ex))
        {
            error.WriteLine($"{RedisCommandSupport.UnreachableLine(options, ex)}. {NothingMoved}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>
    /// ClickHouse must answer and hold a complete history (seq 1..n without a gap, at least one event); the recovery it
    /// answers with rebuilds from that history as counted here. Nothing writes to ClickHouse meanwhile: its only writer is
    /// the sync of the serve whose database lock this command holds.
    /// </summary>
    private static async Task<SetAsideAnswer> ClickHouseCanFillEmptyJournalAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var error = parseResult.InvocationConfiguration.Error;
        var settings = ClickHouseCommandSupport.RequireClickHouse(parseResult)!;
        ClickHouseHistory history;
        try
        {
            history = await ClickHouseRecovery.ReadHistoryAsync(ClickHouseCommandSupport.Client(settings), cancellationToken);
        }
        catch (Exception ex) when (ClickHouseCommandSupport.IsClickHouseFailure(ex))
        {
            error.WriteLine($"tradestore: recover could not read ClickHouse: {ex.Message.TrimEnd('.')}. {NothingMoved}");
            return SetAsideAnswer.Refuse(ExitCodes.Failure);
        }

        if (history.Events == 0)
        {
            error.WriteLine($"tradestore: ClickHouse {history.Database}.trade_events holds no events: nothing to recover. {NothingMoved}");
            return SetAsideAnswer.Refuse(ExitCodes.Failure);
        }

        if (history.Gap() is { } gap)
        {
            error.WriteLine($"tradestore: {gap} {NothingMoved}");
            return SetAsideAnswer.Refuse(ExitCodes.Failure);
        }

        return SetAsideAnswer.Recover((parseResult, interruption) => FromClickHouseAsync(parseResult, interruption, history));
    }

    private const string NothingMoved = "--set-aside moved nothing: every file is where it was.";

    /// <summary>Appends to an existing database; into none (after <c>--set-aside</c>) builds a new one apart (<see cref="RecoveryTarget"/>).</summary>
    private static Task<int> FromRedisAsync(ParseResult parseResult, OfflineInterruption interruption) =>
        RedisCommandSupport.RunAsync(parseResult, async (options, database, redis, output, error) =>
        {
            var source = new RedisRecoverySource(redis, new RedisKeys(options.KeyPrefix));
            interruption.Doing = () => "while reading Redis's change stream";
            var report = await new JournalRecovery(database).RecoverAsync(source, interruption.Token);
            (report.Outcome == RecoveryOutcome.Refused ? error : output).WriteLine(report.Message);
            if (report.Outcome == RecoveryOutcome.Recovered)
            {
                database.Checkpoint();
            }

            return report.Outcome == RecoveryOutcome.Refused ? ExitCodes.Failure : ExitCodes.Success;
        }, interruption.Token, createDatabase: parseResult.GetValue(SetAside));

    /// <summary>
    /// Rebuilds a damaged journal log from DuckDB (<see cref="JournalLogRebuild"/>). Opening the database takes its lock, so
    /// a running <c>serve</c> stops it (exit 3) and no <c>serve</c> can start while the log is replaced.
    /// </summary>
    private static Task<int> FromDuckDbAsync(ParseResult parseResult, OfflineInterruption interruption)
    {
        var output = parseResult.InvocationConfiguration.Output;
        var error = parseResult.InvocationConfiguration.Error;
        var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
        var path = settings.Storage.DatabasePath;
        if (!DatabaseFiles.Exists(path))
        {
            throw new ConfigurationException($"Storage:DataDirectory: there is no database at {path} (check --data); --from duckdb rebuilds the " +
                "journal log from the events that database holds.");
        }

        using var database = DuckDbDatabase.Open(path, settings.Storage.CheckpointThreshold);
        // Below this binary's schema the journal's tables may be missing: one line, as verify says it, not DuckDB's error.
        DuckDbSchema.RequireLatest(database, PendingMigrationAdvice.RecoverFromDuckDb);
        if (File.Exists(JournalLog.DirectoryFor(path)))
        {
            // serve and verify stop here with exit 4; read as no log at all, it was "the journal log reads whole".
            throw DatabaseOpenException.NotADirectory(database.Path, "open the journal log in", JournalLog.DirectoryFor(path));
        }

        interruption.Doing = () => "while reading the journal log";
        var plan = JournalLogRebuild.Plan(database, settings.Storage.Durability, interruption.Token);
        var duckDbSeq = plan.DuckDbSeq;
        if (plan.FinishesEarlierRebuild)
        {
            var journal = JournalLog.DirectoryFor(path);
            plan.FinishEarlierRebuild(path, settings.Storage.Durability);
            output.WriteLine($"recover: an earlier 'recover --from duckdb' was stopped after it moved the damaged journal log aside (into DIR/damaged-<UTC time>/): " +
                $"moved the new log it wrote, {journal}{JournalLog.RebuiltSuffix}/, into place as {journal}/" +
                (plan.RebuiltLastSeq < plan.RebuiltFirstSeq
                    ? $"; it starts at seq {plan.RebuiltFirstSeq}."
                    : $" (seq {plan.RebuiltFirstSeq}..{plan.RebuiltLastSeq}); serve applies the records after seq {duckDbSeq} to DuckDB at its next start."));
            return Task.FromResult(ExitCodes.Success);
        }

        if (plan.Damage is not { } damage)
        {
            output.WriteLine($"recover: the journal log reads whole, as serve reads it at start-up (DuckDB holds events up to seq {duckDbSeq}): " +
                "nothing to rebuild; nothing was changed.");
            return Task.FromResult(ExitCodes.Success);
        }

        if (plan.Refusal is { } refusal)
        {
            error.WriteLine($"tradestore: the journal log cannot be rebuilt from DuckDB: {refusal}. Nothing was changed. The damage: {damage.File} at byte " +
                $"offset {damage.Offset}: {damage.Reason}. Rebuild from a store that holds those events ('tradestore recover --from clickhouse --set-aside', " +
                "or '--from redis'), or restore the data directory from a backup.");
            return Task.FromResult(ExitCodes.Failure);
        }

        output.WriteLine($"recover: the journal log is damaged ({damage.File} at byte offset {damage.Offset}: {damage.Reason}).");
        output.WriteLine($"recover: DuckDB holds every event up to seq {duckDbSeq}; " +
            (plan.Kept.Count == 0 ? "the log holds none after it." : $"intact records hold the {plan.Kept.Count} after it (seq {plan.Kept[0].Seq}..{plan.Kept[^1].Seq})."));
        // Written beside the damaged log, which is moved only once the new one is whole: stopped before that, the new one is removed.
        var written = 0;
        interruption.Doing = () => $"while writing the new journal log ({Volatile.Read(ref written)} of {plan.Kept.Count} records)";
        interruption.State = $"nothing was changed: the damaged journal log is where it was, and the new one being written beside it ({JournalLog.DirectoryName}{JournalLog.RebuiltSuffix}) was removed.";
        var folder = plan.Apply(path, new JournalLogOptions { Durability = settings.Storage.Durability, SegmentBytes = settings.Storage.JournalSegmentBytes },
            interruption.Token, count => Volatile.Write(ref written, count));
        output.WriteLine($"recover: moved the damaged journal log into {Path.Combine(folder, JournalLog.DirectoryName)}/ (kept, not deleted); the new log " +
            $"starts at seq {duckDbSeq + 1}" + (plan.Kept.Count == 0 ? "." : $" with those {plan.Kept.Count} records, which serve applies to DuckDB at its next start."));
        return Task.FromResult(ExitCodes.Success);
    }

    /// <summary>
    /// Rebuilds into an empty database; when there is none, builds one apart and moves it into place only once it holds
    /// the whole history (<see cref="RecoveryTarget"/>), so a failure or a Ctrl-C leaves no database behind.
    /// </summary>
    /// <param name="knownHistory">What ClickHouse holds, when <c>--set-aside</c> asked it just before; <see langword="null"/>: asked here.</param>
    private static async Task<int> FromClickHouseAsync(ParseResult parseResult, OfflineInterruption interruption, ClickHouseHistory? knownHistory)
    {
        var output = parseResult.InvocationConfiguration.Output;
        var error = parseResult.InvocationConfiguration.Error;
        if (ClickHouseCommandSupport.RequireClickHouse(parseResult) is not { } settings)
        {
            return ExitCodes.BadInput;
        }

        // ClickHouse is asked first: opening the target migrates an existing database to this binary's schema, which a
        // recovery that cannot read its source must not do (a database at version 0 was at the latest after "could not read ClickHouse").
        var client = ClickHouseCommandSupport.Client(settings);
        interruption.State = "nothing was written.";
        interruption.Doing = () => "while asking ClickHouse how much history it holds";
        ClickHouseHistory history;
        try
        {
            history = knownHistory ?? await ClickHouseRecovery.ReadHistoryAsync(client, interruption.Token);
        }
        catch (Exception ex) when (ClickHouseCommandSupport.IsClickHouseFailure(ex))
        {
            error.WriteLine($"tradestore: recover could not read ClickHouse, nothing was written: {ex.Message}");
            return ExitCodes.Failure;
        }

        using var target = RecoveryTarget.Open(settings);
        var nothingWritten = target.IsNew ? "nothing was written (the database it was building was removed)" : "nothing was written";
        interruption.State = $"{nothingWritten}.";
        var recovery = new ClickHouseRecovery(client, target.Database) { DatabaseName = settings.Storage.DatabasePath };
        interruption.Doing = () => recovery.Written
            ? "while checking the restored database against ClickHouse"
            : $"after reading {recovery.EventsRead} of {recovery.EventsTotal} events from ClickHouse";
        RecoveryResult result;
        try
        {
            result = await recovery.RecoverAsync(history, line => output.WriteLine($"recover: {line}"), interruption.Token);
        }
        catch (OperationCanceledException) when (recovery.Written && !target.IsNew)
        {
            // Into an existing (empty) database the journal is committed before the check: it stays, and is said to.
            target.Commit();
            interruption.State = $"the journal was restored ({recovery.EventsRead} events) into {settings.Storage.DatabasePath}; only its check against " +
                "ClickHouse was cut short: run tradestore verify --clickhouse.";
            throw;
        }
        catch (DatabaseNotEmptyException ex)
        {
            error.WriteLine($"tradestore: {ex.Message}");
            return ExitCodes.BadInput;
        }
        catch (JournalImportException ex)
        {
            error.WriteLine($"tradestore: recover failed, {nothingWritten}: {ex.Message}");
            return ExitCodes.Failure;
        }
        catch (Exception ex) when (ClickHouseCommandSupport.IsClickHouseFailure(ex))
        {
            error.WriteLine($"tradestore: recover could not read ClickHouse, {nothingWritten}: {ex.Message}");
            return ExitCodes.Failure;
        }

        target.Commit();
        output.WriteLine($"recover: restored {result.Events} events of {result.Trades} trades into {settings.Storage.DatabasePath}");
        return VerifyCommand.Print(output, [result.Verification]) ? ExitCodes.Success : ExitCodes.Failure;
    }
}
