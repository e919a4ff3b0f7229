using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using Microsoft.Extensions.Logging;
using TradeStore.Core.Trades;
using TradeStore.Storage.Journal;

namespace TradeStore.Storage.Integrity;

/// <summary>
/// Checks that the journal and the current state agree, without changing anything:
/// <list type="number">
/// <item>journal <c>seq</c> starts at 1 and has no gap;</item>
/// <item>each trade's versions run 1..n without a gap, starting with its create;</item>
/// <item>the current state (<c>current_trade_state</c>: the <c>trade_state</c> rows of trades without events after its
/// checkpoint, the journal tail for the others) equals the last journal row of every trade (all trades, or a sample
/// above <see cref="FullCompareLimit"/>);</item>
/// <item>replaying each sampled trade's events through <see cref="TradeLifecycle"/> reproduces the recorded states;</item>
/// <item>no checkpoint (of a sink, or of <c>trade_state</c>) is ahead of the journal.</item>
/// </list>
/// The journal is the system of record; a disagreement is reported, never repaired silently.
/// </summary>
public sealed class IntegrityChecker(DuckDbDatabase database)
{
    private const int Examples = 5;

    /// <summary>Above this many trades, state and replay are checked on a sample.</summary>
    /// <value>Default 1,000,000.</value>
    public long FullCompareLimit { get; init; } = 1_000_000;

    /// <summary>
    /// Most trades one statement of the versions and state steps groups at a time: a larger book is checked in parts of
    /// its trades (by a hash of the trade id), so what DuckDB holds does not grow with the book. Whole, at 3,684,000 events
    /// those steps needed between 600 MB and 1 GB of DuckDB's memory, and past <c>Storage:DuckDbMemoryLimit</c> (2 GB by
    /// default, reached near 8 million trades) a start-up refused with exit 4, calling the database unreadable.
    /// </summary>
    /// <value>Default 1,000,000.</value>
    internal long TradesPerPart { get; init; } = 1_000_000;

    /// <summary>Trades replayed through the lifecycle rules (a random sample; all when fewer).</summary>
    /// <value>Default 1,000.</value>
    public int ReplaySample { get; init; } = 1_000;

    /// <summary>
    /// The last seq of the journal log when it holds more than DuckDB (an offline check after a crash: DuckDB trails the
    /// log, and the sinks, fed from the log's events, may be past DuckDB). A sink checkpoint is ahead only when it is
    /// past both. <see langword="null"/> when the log was replayed already (a start checks after its replay).
    /// </summary>
    public long? JournalLogEnd { get; init; }

    /// <summary>
    /// Where a check of <see cref="AnnouncedFrom"/> events or more says that it starts (event 2038), then which step it is
    /// at every <see cref="ProgressEvery"/> (event 2039): at millions of events it takes most of a minute, and a start-up
    /// or a <c>verify</c> that said nothing meanwhile looked hung. <see langword="null"/>: silent.
    /// </summary>
    public ILogger? Progress { get; init; }

    /// <summary>Checks of fewer events than this start without a word.</summary>
    /// <value>Default 100,000 (as the journal log's replay).</value>
    internal long AnnouncedFrom { get; init; } = 100_000;

    /// <summary>How often a long check says which step it is at.</summary>
    internal TimeSpan ProgressEvery { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Called as each step starts, with its name (a test cancels the check there, once the step has started).</summary>
    internal Action<string>? StepStarted { get; init; }

    /// <summary>The step running now, for <see cref="Progress"/>.</summary>
    private volatile string _step = FirstStep;

    /// <summary>
    /// The step running now ("state = fold of the journal, all 2000000 trades (step 3 of 5)"), for a caller that says where
    /// the check was when it was stopped; read from any thread.
    /// </summary>
    public string Step => _step;

    /// <summary>The step a report can name first: the events are counted before reporting starts.</summary>
    private const string FirstStep = "counting the trades";

    /// <summary>Runs every check; reports disagreements, never repairs them.</summary>
    /// <param name="cancellationToken">
    /// Stops the check within its step: the statement DuckDB is running is interrupted (<see cref="DuckDbInterrupt"/>) and
    /// the rows read in C# are checked between rows. The check only reads, so a stopped one leaves nothing behind.
    /// </param>
    /// <exception cref="DatabaseOpenException">DuckDB cannot read the file (for example a corrupt data block).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; <see cref="Step"/> says where.</exception>
    public IntegrityReport Check(CancellationToken cancellationToken = default)
    {
        try
        {
            return CheckAll(cancellationToken);
        }
        catch (Exception ex) when (DuckDbInterrupt.Stopped(ex, cancellationToken))
        {
            throw new OperationCanceledException($"The integrity check was stopped during {_step}.", ex, cancellationToken);
        }
        catch (DuckDBException ex)
        {
            throw DatabaseOpenException.ReadFailed(database.Path, ex);
        }
    }

    private IntegrityReport CheckAll(CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        using var connection = database.OpenConnection();
        using var interrupt = new DuckDbInterrupt(connection, cancellationToken); // disposed first, before the connection
        var problems = new List<IntegrityProblem>();

        StartStep(FirstStep, cancellationToken);
        var events = DuckDbScalar.Int64(connection, "SELECT count(*) FROM trade_events");
        var reporter = Progress is { } progress && events >= AnnouncedFrom ? StartReporting(progress, events, stopwatch) : null;
        try
        {
            return CheckSteps(connection, events, problems, stopwatch, cancellationToken);
        }
        finally
        {
            StopReporting(reporter);
        }
    }

    private IntegrityReport CheckSteps(DuckDBConnection connection, long events, List<IntegrityProblem> problems, Stopwatch stopwatch, CancellationToken cancellationToken)
    {
        var trades = DuckDbScalar.Int64(connection, "SELECT count(*) FROM current_trade_state");
        StartStep("seq gap-free (step 1 of 5)", cancellationToken);
        CheckSequence(connection, events, problems);
        StartStep("versions contiguous (step 2 of 5)", cancellationToken);
        CheckVersions(connection, trades, problems, cancellationToken);
        StartStep($"state = fold of the journal, {(trades > FullCompareLimit ? $"a sample of {FullCompareLimit} of {trades} trades" : $"all {trades} trades")} (step 3 of 5)", cancellationToken);
        var scope = CheckState(connection, trades, problems, cancellationToken);
        StartStep($"a sample of {ReplaySample} trades replayed through the lifecycle rules (step 4 of 5)", cancellationToken);
        CheckReplay(connection, problems, cancellationToken);
        StartStep("checkpoints not ahead (step 5 of 5)", cancellationToken);
        CheckCheckpoints(connection, problems);
        cancellationToken.ThrowIfCancellationRequested(); // a cancellation during the last step is not answered with a report

        return new IntegrityReport(events, trades, scope, problems, stopwatch.Elapsed);
    }

    /// <summary>Ends the step before (when cancelled meanwhile) and names the next one for <see cref="Progress"/> and <see cref="Step"/>.</summary>
    private void StartStep(string step, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _step = step;
        StepStarted?.Invoke(step);
    }

    /// <summary>Says that a long check starts, then (until <see cref="StopReporting"/>) which step it is at every <see cref="ProgressEvery"/>.</summary>
    private Timer StartReporting(ILogger progress, long events, Stopwatch stopwatch)
    {
        Log.IntegrityCheckStarting(progress, events);
        return new Timer(_ => Log.IntegrityCheckProgress(progress, _step, (long)stopwatch.Elapsed.TotalSeconds), null, ProgressEvery, ProgressEvery);
    }

    /// <summary>Stops the reports and waits for one that is being written, so none follows the check's own result line.</summary>
    private static void StopReporting(Timer? reporter)
    {
        if (reporter is null)
        {
            return;
        }

        using var stopped = new ManualResetEvent(false);
        if (reporter.Dispose(stopped))
        {
            stopped.WaitOne();
        }
    }

    private static void CheckSequence(DuckDBConnection connection, long events, List<IntegrityProblem> problems)
    {
        if (events == 0)
        {
            return;
        }

        // seq is the primary key, so unique: it runs 1..n without a gap exactly when it starts at 1 and ends at the count.
        // Two aggregates instead of a window over every seq, which sorted the whole journal in memory; that runs only to name a gap.
        var first = DuckDbScalar.Int64(connection, "SELECT min(seq) FROM trade_events");
        if (first == 1 && DuckDbScalar.Int64(connection, "SELECT max(seq) FROM trade_events") == events)
        {
            return;
        }

        var gaps = Strings(connection, $"""
            SELECT 'after seq ' || seq || ' comes ' || next_seq FROM (
                SELECT seq, lead(seq) OVER (ORDER BY seq) AS next_seq FROM trade_events)
            WHERE next_seq <> seq + 1 ORDER BY seq LIMIT {Examples}
            """);
        if (first != 1)
        {
            gaps.Insert(0, $"the journal starts at seq {first}, not 1");
        }

        if (gaps.Count > 0)
        {
            problems.Add(new IntegrityProblem("journal seq has gaps", string.Join("; ", gaps)));
        }
    }

    /// <summary>How many parts of at most <see cref="TradesPerPart"/> trades a book of <paramref name="trades"/> is checked in.</summary>
    private long Parts(long trades) => Math.Max(1, (trades + TradesPerPart - 1) / TradesPerPart);

    /// <summary>The condition that keeps part <paramref name="part"/> of <paramref name="parts"/> of the trades (by a hash of the id, as the state index loads); none for one part.</summary>
    private static string InPart(long part, long parts) =>
        parts == 1 ? "TRUE" : string.Create(CultureInfo.InvariantCulture, $"hash(trade_id) % {parts} = {part}");

    private void CheckVersions(DuckDBConnection connection, long trades, List<IntegrityProblem> problems, CancellationToken cancellationToken)
    {
        var parts = Parts(trades);
        var broken = new List<string>();
        for (var part = 0L; part < parts; part++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            broken.AddRange(Strings(connection, $"""
                SELECT trade_id || ' has ' || count(*) || ' events, versions ' || min(version) || '..' || max(version)
                       || CASE WHEN arg_min(event_type, version) <> 'create' THEN ', first is ' || arg_min(event_type, version) ELSE '' END
                FROM trade_events WHERE {InPart(part, parts)} GROUP BY trade_id
                HAVING min(version) <> 1 OR max(version) <> count(*) OR arg_min(event_type, version) <> 'create'
                ORDER BY trade_id LIMIT {Examples}
                """));
        }

        if (broken.Count > 0)
        {
            problems.Add(new IntegrityProblem("per-trade versions are not contiguous", string.Join("; ", broken.Order(StringComparer.Ordinal).Take(Examples))));
        }
    }

    private string CheckState(DuckDBConnection connection, long trades, List<IntegrityProblem> problems, CancellationToken cancellationToken)
    {
        var sampled = trades > FullCompareLimit;
        var scope = sampled ? $"a sample of {FullCompareLimit} of {trades} trades" : "all trades";
        var mismatches = new List<string>();
        if (sampled)
        {
            // Each sampled trade's last event only (the sample taken once, then looked up), not the last event of every
            // trade in the journal, which sorted all of them in memory to compare a million.
            mismatches.AddRange(Strings(connection, StateQuery(
                $"state AS MATERIALIZED (SELECT * FROM current_trade_state USING SAMPLE {FullCompareLimit} ROWS)",
                "trade_id IN (SELECT trade_id FROM state)", "LEFT")));
        }
        else
        {
            var parts = Parts(trades);
            for (var part = 0L; part < parts; part++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                mismatches.AddRange(Strings(connection, StateQuery(
                    $"state AS (SELECT * FROM current_trade_state WHERE {InPart(part, parts)})", InPart(part, parts), "FULL OUTER")));
            }
        }

        if (mismatches.Count > 0)
        {
            problems.Add(new IntegrityProblem("trade_state disagrees with the journal", string.Join("; ", mismatches.Order(StringComparer.Ordinal).Take(Examples))));
        }

        return scope;
    }

    /// <summary>Compares the trades <paramref name="state"/> (a CTE named state) holds with their last journal events, those where <paramref name="events"/> holds.</summary>
    private static string StateQuery(string state, string events, string join) => $"""
        WITH {state},
        latest AS (
            SELECT * FROM trade_events WHERE {events} QUALIFY row_number() OVER (PARTITION BY trade_id ORDER BY version DESC) = 1)
        SELECT coalesce(s.trade_id, l.trade_id) || CASE
            WHEN s.trade_id IS NULL THEN ': in the journal (version ' || l.version || ') but not in trade_state'
            WHEN l.trade_id IS NULL THEN ': in trade_state but not in the journal'
            ELSE ': trade_state is version ' || s.version || ' (' || s.status || ', filled ' || s.filled_quantity
                 || '), journal says version ' || l.version || ' (' || l.status || ', filled ' || l.filled_quantity || ')' END
        FROM state s {join} JOIN latest l ON s.trade_id = l.trade_id
        WHERE s.trade_id IS NULL OR l.trade_id IS NULL
           OR s.version <> l.version OR s.last_seq <> l.seq OR s.updated_at <> l.recorded_at
           OR {string.Join(" OR ", TradeFields.State.Select(f => $"s.{f.Column} IS DISTINCT FROM l.{f.Column}"))}
        ORDER BY 1 LIMIT {Examples}
        """;

    /// <summary>Rebuilds each sampled trade's commands from its events and checks the lifecycle rules give the recorded states.</summary>
    private void CheckReplay(DuckDBConnection connection, List<IntegrityProblem> problems, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        // Each trade's version 1 (one row per trade: (trade_id, version) is unique) sampled as it streams past, not a
        // DISTINCT over every event, which held every trade id in memory to pick a thousand.
        command.CommandText = $"""
            WITH chosen AS (SELECT trade_id FROM (SELECT trade_id FROM trade_events WHERE version = 1) USING SAMPLE {ReplaySample} ROWS)
            SELECT {JournalColumns.List} FROM trade_events WHERE trade_id IN (SELECT trade_id FROM chosen) ORDER BY trade_id, version
            """;
        using var reader = command.ExecuteReader();
        var failures = new List<string>();
        Trade? current = null;
        while (reader.Read() && failures.Count < Examples)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var recorded = JournalColumns.Read(reader);
            if (current is not null && current.TradeId != recorded.TradeId)
            {
                current = null;
            }

            if (!TradeLifecycle.TryDecide(CommandFor(recorded, current), current, recorded.Seq, recorded.RecordedAt, out var transition, out var error))
            {
                failures.Add($"{recorded.TradeId} v{recorded.Version} ({recorded.Type.ToCode()}): the rules refuse it: {error!.Message}");
                current = recorded.State;
                continue;
            }

            var expected = transition.State with { CreatedAt = recorded.State.CreatedAt, UpdatedAt = recorded.State.UpdatedAt };
            if (expected != recorded.State)
            {
                failures.Add($"{recorded.TradeId} v{recorded.Version} ({recorded.Type.ToCode()}): recorded state differs from the replayed one");
            }

            current = recorded.State;
        }

        if (failures.Count > 0)
        {
            problems.Add(new IntegrityProblem("journal does not replay through the lifecycle rules", string.Join("; ", failures)));
        }
    }

    /// <summary>The command that, applied to <paramref name="before"/>, produces <paramref name="recorded"/>.</summary>
    private static TradeCommand CommandFor(TradeEvent recorded, Trade? before)
    {
        var s = recorded.State;
        return recorded.Type switch
        {
            TradeEventType.Create => new CreateTrade(s.TradeId, s.Account, s.Symbol, s.Side, s.Quantity, s.Price, s.Venue, s.Trader, s.ExecutedAt),
            TradeEventType.Amend => new AmendTrade(s.TradeId, before?.Version,
                Quantity: s.Quantity, Price: s.Price, Venue: s.Venue, Trader: s.Trader, ExecutedAt: s.ExecutedAt),
            TradeEventType.Fill => new FillTrade(s.TradeId, recorded.LastQuantity ?? 0, recorded.LastPrice ?? 0, before?.Version),
            TradeEventType.Cancel => new CancelTrade(s.TradeId, before?.Version),
            _ => new DeleteTrade(s.TradeId, before?.Version),
        };
    }

    private void CheckCheckpoints(DuckDBConnection connection, List<IntegrityProblem> problems)
    {
        var logEnd = JournalLogEnd ?? 0;
        var end = $"greatest((SELECT coalesce(max(seq), 0) FROM trade_events), {logEnd.ToString(CultureInfo.InvariantCulture)})";
        var ahead = Strings(connection, $"""
            SELECT sink || ' is at seq ' || last_seq || ', the journal ends at ' || {end}
            FROM sync_checkpoints WHERE last_seq > {end} ORDER BY sink
            """);
        if (ahead.Count > 0)
        {
            problems.Add(new IntegrityProblem("a sink checkpoint is ahead of the journal (events were lost)", string.Join("; ", ahead)));
        }
    }

    private static List<string> Strings(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var result = new List<string>();
        while (reader.Read())
        {
            result.Add(reader.GetString(0));
        }

        return result;
    }
}
