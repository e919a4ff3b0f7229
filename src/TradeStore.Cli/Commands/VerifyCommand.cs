using System.CommandLine;
using TradeStore.ClickHouse.Verification;
using TradeStore.Core.Migrations;
using TradeStore.Redis;
using TradeStore.Redis.Projection;
using TradeStore.Server.Configuration;
using TradeStore.Storage;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Integrity;
using TradeStore.Storage.Journal;
using TradeStore.Storage.Migrations;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore verify [--redis] [--clickhouse]</c>: checks the DuckDB journal against the current state (the
/// same integrity check <c>serve</c> runs at start-up) and the journal log (<c>DIR/journal/*.log</c>) as <c>serve</c>
/// reads it at start-up, without changing it; then compares each selected derived store with the journal as the next
/// start leaves it: DuckDB plus the log's records after DuckDB's end, which that start replays (after a <c>kill -9</c>
/// the stores, fed from the log's durable events, may hold them while DuckDB does not yet); prints every difference;
/// exit code 1 when there is any. Each store's check lives in its own assembly.
/// </summary>
public static class VerifyCommand
{
    private const int MaxPrinted = 100;

    private static readonly Option<bool> Redis = new("--redis")
    {
        Description = "Compare every trade, position, the checkpoint and the change stream in Redis with the journal: DuckDB plus the log records the next start replays.",
    };

    private static readonly Option<bool> ClickHouse = new("--clickhouse")
    {
        Description = "Compare ClickHouse (event count, max seq, the seqs it lacks below its max seq, money sums, each trade's latest version; read with FINAL) with the journal.",
    };

    private static readonly Option<long> SampleAbove = new("--sample-above")
    {
        Description = "Compare the current state (current_trade_state) with the journal for every trade up to this many trades, for a random sample of this size above it.",
        HelpName = "N",
        DefaultValueFactory = _ => 1_000_000,
    };

    public static Command Create()
    {
        var command = new Command("verify",
            "Check the DuckDB journal and state (seq gap-free, versions contiguous, state = fold of the journal, checkpoints not ahead, " +
            "no idempotency key applied twice within Engine:IdempotencyKeyRetention) " +
            "and the journal log DIR/journal/*.log as serve reads it at start-up (every segment header and record checksum, seqs contiguous, " +
            "how it relates to DuckDB: records to replay, a torn tail serve would cut, damage that stops serve, named by file and byte offset), " +
            "changing nothing; then compare the selected derived stores with the journal as the next start leaves it (DuckDB plus the log records it replays); print every difference (exit code 1 when any). " +
            "Run it while the service is stopped.")
        {
            Redis,
            ClickHouse,
            SampleAbove,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var redis = parseResult.GetValue(Redis);
            var clickHouse = parseResult.GetValue(ClickHouse);
            var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
            if (redis)
            {
                RedisCommandSupport.RequireRedis(settings); // a missing setting is reported before any work is done
            }

            if (clickHouse && ClickHouseCommandSupport.RequireClickHouse(parseResult) is null)
            {
                return ExitCodes.BadInput;
            }

            // It changes nothing: a Ctrl-C stops it within its step, with a line saying which.
            using var interruption = OfflineInterruption.ForReadOnly("verify", parseResult.InvocationConfiguration.Error, cancellationToken);
            try
            {
                var (exitCode, logTail) = VerifyIntegrity(parseResult, settings, readLogTail: redis || clickHouse, interruption);
                interruption.Token.ThrowIfCancellationRequested(); // the journal log's part reads on to its end
                if (redis)
                {
                    interruption.Doing = () => "while comparing Redis with the journal";
                    exitCode = Math.Max(exitCode, await VerifyRedisAsync(parseResult, logTail, interruption.Token));
                }

                if (clickHouse)
                {
                    interruption.Doing = () => "while comparing ClickHouse with the journal";
                    exitCode = Math.Max(exitCode, await VerifyClickHouseAsync(parseResult, logTail, interruption.Token));
                }

                return exitCode;
            }
            catch (OperationCanceledException) when (interruption.Interrupted)
            {
                return interruption.Report(interruption.State);
            }
        });
        return command;
    }

    /// <summary>
    /// The DuckDB integrity check, read-only: the database must exist and be at the schema this binary knows. With
    /// <paramref name="readLogTail"/> also returns the log's records the next start replays (for the store comparisons);
    /// <see langword="null"/> when the log cannot be read (reported, exit code 1).
    /// </summary>
    private static (int ExitCode, JournalLogTail? LogTail) VerifyIntegrity(ParseResult parseResult, TradeStoreSettings settings, bool readLogTail,
        OfflineInterruption interruption)
    {
        var path = settings.Storage.DatabasePath;
        if (!DatabaseFiles.Exists(path))
        {
            throw new ConfigurationException($"Storage:DataDirectory: there is no database at {path}.");
        }

        var sampleAbove = parseResult.GetValue(SampleAbove);
        if (sampleAbove < 1)
        {
            throw new ConfigurationException("--sample-above must be 1 or more.");
        }

        // Read-only: a check changes nothing, not even by folding a crash's WAL into the file as a read-write open does.
        using var database = DuckDbDatabase.OpenReadOnly(path);
        try
        {
            DuckDbSchema.RequireLatest(database, PendingMigrationAdvice.ReadOnlyCommand("verify"));
        }
        catch (DuckDB.NET.Data.DuckDBException ex)
        {
            throw DatabaseOpenException.ReadFailed(path, ex);
        }

        var output = parseResult.InvocationConfiguration.Output;
        int exitCode;
        Lazy<JournalLogCheck> logCheck;
        try
        {
            var duckDbSeq = new JournalReader(database).LastSeq();
            // Read once: its end tells the DuckDB check where the journal ends (after a crash the log, and the sinks fed
            // from it, are ahead of DuckDB); what it finds is reported below, in the journal log's own lines.
            logCheck = new Lazy<JournalLogCheck>(() => JournalLog.Check(JournalLog.DirectoryFor(database.Path), settings.Storage.Durability, duckDbSeq, interruption.Token));
            interruption.Doing = () => "while reading the journal log";
            var checker = new IntegrityChecker(database)
            {
                FullCompareLimit = sampleAbove,
                JournalLogEnd = LastSeqOrNull(logCheck),
                // A check of millions of events takes most of a minute: it says that it starts and which step it is at.
                Progress = new OutputLogger(output, "duckdb: "),
            };
            interruption.Doing = () => $"during the DuckDB check, at {checker.Step}";
            var report = checker.Check(interruption.Token);
            output.WriteLine($"duckdb: {report.Describe()}");
            exitCode = report.IsHealthy ? ExitCodes.Success : ExitCodes.Failure;
            interruption.Doing = () => "while looking for an idempotency key applied twice";
            exitCode = Math.Max(exitCode, VerifyIdempotencyKeys(output, database, settings.Engine.IdempotencyKeyRetention, interruption.Token));
            interruption.Doing = () => "during the journal log check";
        }
        catch (DuckDB.NET.Data.DuckDBException ex)
        {
            throw DatabaseOpenException.ReadFailed(path, ex);
        }

        var (logExitCode, logTail) = VerifyJournalLog(output, database, logCheck, readLogTail, interruption.Token);
        return (Math.Max(exitCode, logExitCode), logTail);
    }

    /// <summary>
    /// Exactly-once in the journal: no idempotency key applied twice within <c>Engine:IdempotencyKeyRetention</c>
    /// (<see cref="IdempotencyKeyCheck"/>). Exit code 1 when one was, each pair (the first five) named by key and seqs.
    /// </summary>
    private static int VerifyIdempotencyKeys(TextWriter output, DuckDbDatabase database, TimeSpan retention, CancellationToken cancellationToken)
    {
        var report = IdempotencyKeyCheck.Check(database, retention, cancellationToken);
        var within = $"within Engine:IdempotencyKeyRetention ({report.Retention:c})";
        if (report.IsHealthy)
        {
            output.WriteLine($"idempotency: OK, no key applied twice {within} among {report.KeyedEvents} events with a key");
            return ExitCodes.Success;
        }

        output.WriteLine($"idempotency: {report.Pairs} key(s) applied twice {within} among {report.KeyedEvents} events with a key " +
            "(a retry took effect again instead of being answered from the first event):");
        foreach (var pair in report.Examples)
        {
            output.WriteLine($"idempotency:   {pair.Describe()}");
        }

        if (report.Pairs > report.Examples.Count)
        {
            output.WriteLine($"idempotency:   … and {report.Pairs - report.Examples.Count} more");
        }

        return ExitCodes.Failure;
    }

    /// <summary>The log's last seq, or <see langword="null"/> when it cannot be read (<see cref="VerifyJournalLog"/> reports why).</summary>
    private static long? LastSeqOrNull(Lazy<JournalLogCheck> check)
    {
        try
        {
            return check.Value.LastSeq;
        }
#pragma warning disable CA1031 // reported by VerifyJournalLog, which reads the same Lazy and so meets the same exception
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
    }

    /// <summary>
    /// The journal log, read-only: every segment and record as <c>serve</c>'s start reads them (<see cref="JournalLog.Check"/>,
    /// the same code as <see cref="JournalLog.Open"/>), then how it relates to DuckDB (<see cref="JournalLogReplay.Plan"/>,
    /// the start's own decision). What the start would do (replay, copy from DuckDB, cut a torn tail) is reported, not
    /// done; what would stop it (exit 5) is a problem: exit code 1, the file and byte offset named as <c>serve</c> names them.
    /// With <paramref name="readLogTail"/> also returns the records the start would replay, folded (<see cref="JournalLogTail"/>).
    /// <paramref name="cancellationToken"/> (Ctrl-C) is checked before each of those records, as <see cref="JournalLog.Check"/> checks it.
    /// </summary>
    private static (int ExitCode, JournalLogTail? LogTail) VerifyJournalLog(TextWriter output, DuckDbDatabase database, Lazy<JournalLogCheck> logCheck, bool readLogTail,
        CancellationToken cancellationToken)
    {
        const string Target = "journal log";
        var directory = JournalLog.DirectoryFor(database.Path);
        if (File.Exists(directory))
        {
            // serve stops here with exit 4; so does verify, with serve's words.
            throw DatabaseOpenException.NotADirectory(database.Path, "open the journal log in", directory);
        }

        try
        {
            var check = logCheck.Value;
            output.WriteLine(check switch
            {
                { Exists: false } => $"{Target}: there is no {directory}",
                { IsEmpty: true } => $"{Target}: {directory} holds no segment",
                _ => $"{Target}: {check.Segments.Count} segment(s) in {directory} ({Path.GetFileName(check.SegmentFiles[0])}" +
                    (check.Segments.Count > 1 ? $" .. {Path.GetFileName(check.SegmentFiles[^1])}" : "") +
                    (check.Records == 0
                        ? "), empty: every segment header intact"
                        : $"), {check.Records} records, seq {check.FirstSeq}..{check.LastSeq}: every segment header and record checksum intact, seqs contiguous"),
            });
            if (check.HeaderToWrite is { } headerless)
            {
                output.WriteLine($"{Target}: {headerless} is shorter than a segment header and all zeros (a crash while it was created): serve writes its header at start");
            }

            if (check.TornTail is { } torn)
            {
                output.WriteLine($"{Target}: a torn tail of {torn.Bytes} bytes at byte offset {torn.Offset} of {torn.File} (an append a crash interrupted, " +
                    $"after the last whole record, seq {check.LastSeq}): serve cuts it at start, keeping the bytes in {Path.GetFileName(torn.File)}.torn-{torn.Offset}-<time>");
            }

            var pendingCut = TailTruncation.Pending(directory);
            if (pendingCut is { } keep)
            {
                output.WriteLine($"{Target}: a cut after seq {keep} is pending ({Path.Combine(directory, TailTruncation.MarkerName)}): " +
                    "serve first removes the events after it from DuckDB and the log (what follows is before that cut)");
            }

            var plan = JournalLogReplay.Plan(database, check);
            var replayed = readLogTail && plan.Action == JournalLogReplayAction.Replay
                ? JournalLogTail.Read(check, plan.DuckDbSeq, pendingCut ?? long.MaxValue, cancellationToken)
                : null;
            output.WriteLine(plan.Action switch
            {
                JournalLogReplayAction.Begin => $"{Target}: DuckDB holds up to seq {plan.DuckDbSeq}: serve starts the log at seq {plan.DuckDbSeq + 1}",
                JournalLogReplayAction.CopyFromDuckDb => $"{Target}: the log ends at seq {check.LastSeq}, behind DuckDB (seq {plan.DuckDbSeq}" +
                    (check.LastSeq >= check.FirstSeq ? $"; the event at seq {check.LastSeq} is the same in both" : "") +
                    $"): serve copies events {check.LastSeq + 1}..{plan.DuckDbSeq} ({plan.Events}) from DuckDB into the log at start",
                JournalLogReplayAction.Replay => $"{Target}: DuckDB holds up to seq {plan.DuckDbSeq}: {replayed?.Replayable ?? JournalLogReplay.CheckReplayable(check, plan.DuckDbSeq, cancellationToken)} records " +
                    $"to replay at start (seq {plan.DuckDbSeq + 1}..{check.LastSeq}), each a readable event",
                _ => $"{Target}: DuckDB holds up to seq {plan.DuckDbSeq}, as the log: nothing to replay at start",
            });
            output.WriteLine($"{Target}: OK, serve can start from it");
            return (ExitCodes.Success, readLogTail ? replayed ?? JournalLogTail.None(plan.DuckDbSeq) : null);
        }
        catch (JournalLogCorruptException ex)
        {
            output.WriteLine($"{Target}: DAMAGED, serve would refuse to start (exit 5): {ex.Message}");
            return (ExitCodes.Failure, null);
        }
        catch (DuckDB.NET.Data.DuckDBException ex)
        {
            throw DatabaseOpenException.ReadFailed(database.Path, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw DatabaseOpenException.FileSystem(database.Path, "read the journal log in", directory, ex);
        }
    }

    /// <summary>Prints each report; returns whether all were clean.</summary>
    public static bool Print(TextWriter output, IEnumerable<VerificationReport> reports)
    {
        var clean = true;
        foreach (var report in reports)
        {
            foreach (var fact in report.Facts)
            {
                output.WriteLine($"{report.Target}: {fact}");
            }

            foreach (var difference in report.Differences)
            {
                output.WriteLine($"{report.Target}: DIFFERENCE {difference}");
            }

            if (report.Unlisted > 0)
            {
                output.WriteLine($"{report.Target}: DIFFERENCE … and {report.Unlisted} more trades or events differ");
            }

            // Every difference, not the lines above: "25 difference(s)" under "… and 36486 more" read as a small drift.
            output.WriteLine(report.Clean
                ? $"{report.Target}: OK, matches the journal"
                : $"{report.Target}: {report.Count} difference(s)");
            clean &= report.Clean;
        }

        return clean;
    }

    /// <summary>
    /// Redis against DuckDB plus <paramref name="logTail"/>, the log's records the next start replays (DuckDB alone when
    /// the log could not be read; that is reported above).
    /// </summary>
    private static Task<int> VerifyRedisAsync(ParseResult parseResult, JournalLogTail? logTail, CancellationToken cancellationToken) =>
        RedisCommandSupport.RunAsync(parseResult, async (options, database, redis, output, _) =>
        {
            var verifier = new RedisVerifier(new RedisKeys(options.KeyPrefix)) { LogTail = logTail, Progress = line => output.WriteLine($"redis: {line}") };
            var report = await verifier.VerifyAsync(redis, database, cancellationToken);
            foreach (var difference in report.Differences.Take(MaxPrinted))
            {
                output.WriteLine($"redis: {difference}");
            }

            if (report.Differences.Count > MaxPrinted)
            {
                output.WriteLine($"redis: … and {report.Differences.Count - MaxPrinted} more");
            }

            output.WriteLine($"redis: {(report.IsClean ? "OK" : $"{report.Differences.Count} differences")} " +
                $"({report.TradesChecked} trades, {report.PositionsChecked} positions, {report.StreamEntries} stream entries; " +
                $"Redis checkpoint {report.RedisCheckpoint}, journal at seq {report.JournalLastSeq}; compared with {report.ComparedWith})");
            return report.IsClean ? ExitCodes.Success : ExitCodes.Failure;
        }, cancellationToken, readOnly: true);

    /// <summary>ClickHouse against DuckDB plus <paramref name="logTail"/>, as <see cref="VerifyRedisAsync"/>.</summary>
    private static async Task<int> VerifyClickHouseAsync(ParseResult parseResult, JournalLogTail? logTail, CancellationToken cancellationToken)
    {
        var output = parseResult.InvocationConfiguration.Output;
        var error = parseResult.InvocationConfiguration.Error;
        if (ClickHouseCommandSupport.RequireClickHouse(parseResult) is not { } settings)
        {
            return ExitCodes.BadInput;
        }

        using var database = ClickHouseCommandSupport.OpenExistingReadOnly(settings, error);
        if (database is null)
        {
            return ExitCodes.BadInput;
        }

        try
        {
            var verifier = new ClickHouseVerifier(ClickHouseCommandSupport.Client(settings), database)
            {
                LogTail = logTail,
                Progress = line => output.WriteLine($"clickhouse: {line}"),
            };
            var report = await verifier.VerifyAsync(cancellationToken);
            return Print(output, [report]) ? ExitCodes.Success : ExitCodes.Failure;
        }
        catch (Exception ex) when (ClickHouseCommandSupport.IsClickHouseFailure(ex))
        {
            error.WriteLine($"tradestore: verify --clickhouse could not read ClickHouse: {ex.Message}");
            return ExitCodes.Failure;
        }
    }
}
