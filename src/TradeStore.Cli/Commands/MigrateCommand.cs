using System.CommandLine;
using System.Globalization;
using TradeStore.ClickHouse;
using TradeStore.ClickHouse.Migrations;
using TradeStore.Core.Migrations;
using TradeStore.Server.Configuration;
using TradeStore.Storage;
using TradeStore.Storage.Migrations;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore migrate status|up|down|verify</c>: versioned schema migrations of the configured stores.
/// By default DuckDB, plus ClickHouse when <c>ClickHouse:Url</c> is configured; <c>--target</c> picks one.
/// </summary>
public static class MigrateCommand
{
    private const string DuckDb = "duckdb";
    private const string ClickHouse = "clickhouse";

    private static readonly Option<string?> Target = CreateTargetOption();

    public static Command Create()
    {
        var status = new Command("status", "Print a table of applied and pending migrations with their checksums, per store. Changes nothing.");
        status.SetAction((parseResult, ct) => RunAsync(parseResult, needsWrite: false, (stores, output, error) => StatusAsync(stores, output, ct)));

        var verify = new Command("verify", "Exit 1 when an applied migration's checksum differs from this binary's script (drift), the store is at a version this binary does not know, or (ClickHouse) a table of the recorded version does not exist. Changes nothing.");
        verify.SetAction((parseResult, ct) => RunAsync(parseResult, needsWrite: false, (stores, output, error) => VerifyAsync(stores, output, error, ct)));

        var upTo = new Option<int?>("--to") { Description = "Stop at this version (default: the latest this binary knows). Needs --target when ClickHouse is configured too.", HelpName = "N" };
        var upDryRun = new Option<bool>("--dry-run") { Description = "Print the SQL that would run and change nothing." };
        var up = new Command("up", "Apply pending migrations in order, each printed with its duration. On DuckDB each runs in one transaction; on ClickHouse every statement is idempotent, so a re-run completes an interrupted one, and a table missing at the recorded version (a down that stopped half-way) is created again by running the applied migrations once more.")
        {
            upTo,
            upDryRun,
        };
        up.SetAction((parseResult, ct) =>
        {
            var dryRun = parseResult.GetValue(upDryRun);
            // Read-only first, as down: UpAsync opens DuckDB read-write (creating it in a new data directory) only once the plan
            // passed, so a refused --to creates no database and folds no crash's WAL.
            return RefuseNegative(parseResult, upTo) ?? RunAsync(parseResult, needsWrite: false, (stores, output, error) => UpAsync(stores, parseResult.GetValue(upTo), dryRun, output, ct), createsDatabase: !dryRun);
        });

        var downTo = new Option<int>("--to") { Description = "Roll back to this version; 0 removes every table of the store (on DuckDB the journal log DIR/journal/ is first moved aside to DIR/journal.rolled-back-<UTC time>/).", HelpName = "N", Required = true };
        var downDryRun = new Option<bool>("--dry-run") { Description = "Print the SQL that would run and change nothing." };
        var yes = new Option<bool>("--yes") { Description = "Confirm the rollback. Down scripts drop tables and their data; without --yes, down only says what it would drop." };
        var down = new Command("down", "Roll back to version N, newest migration first. Refuses without --yes and says what would be dropped. On DuckDB, refuses to go below version 3 (the journal log) while the log holds events DuckDB lacks (after an unclean stop: start serve once and stop it cleanly). Needs --target when ClickHouse is configured too.")
        {
            downTo,
            downDryRun,
            yes,
        };
        down.SetAction((parseResult, ct) =>
        {
            // Read-only first, even with --yes: DownAsync opens DuckDB read-write only once every refusal has passed.
            return RefuseNegative(parseResult, downTo) ?? RunAsync(parseResult, needsWrite: false, (stores, output, error) =>
                DownAsync(stores, parseResult.GetValue(downTo), parseResult.GetValue(downDryRun), parseResult.GetValue(yes), output, error, ct));
        });

        return new Command("migrate", "Versioned schema migrations: status, up, down, verify. Acts on DuckDB, plus ClickHouse when ClickHouse:Url is configured; --target picks one store.")
        {
            Target,
            status,
            up,
            down,
            verify,
        };
    }

    /// <summary>Exit 2 for a negative <c>--to</c>, before any store is opened: a version is 0 (the empty schema) or more, up or down.</summary>
    private static Task<int>? RefuseNegative<T>(ParseResult parseResult, Option<T> to)
    {
        if (parseResult.GetValue(to) is not int version || version >= 0)
        {
            return null;
        }

        parseResult.InvocationConfiguration.Error.WriteLine($"tradestore: --to must be 0 or more (a schema version; 0 is the empty schema), got {version}.");
        return Task.FromResult(ExitCodes.BadInput);
    }

    private static Option<string?> CreateTargetOption()
    {
        var option = new Option<string?>("--target")
        {
            Description = "The store to act on: duckdb or clickhouse. Default: duckdb, plus clickhouse when ClickHouse:Url is configured.",
            HelpName = "duckdb|clickhouse",
            Recursive = true,
        };
        option.AcceptOnlyFromAmong(DuckDb, ClickHouse);
        return option;
    }

    private delegate Task<int> StoreAction(IReadOnlyList<Store> stores, TextWriter output, TextWriter error);

    /// <param name="createsDatabase">The action may create the database (migrate up), so a data directory that does not exist is no mistake.</param>
    private static async Task<int> RunAsync(ParseResult parseResult, bool needsWrite, StoreAction action, bool createsDatabase = false)
    {
        var output = parseResult.InvocationConfiguration.Output;
        var error = parseResult.InvocationConfiguration.Error;
        var settings = TradeStoreSettings.Bind(CommonOptions.BuildConfiguration(parseResult));
        var target = parseResult.GetValue(Target);
        if (target == ClickHouse && !settings.ClickHouse.Enabled)
        {
            error.WriteLine("tradestore: --target clickhouse needs ClickHouse:Url (TRADESTORE__CLICKHOUSE__URL) to be configured.");
            return ExitCodes.BadInput;
        }

        var stores = new List<Store>();
        try
        {
            if (target is null or DuckDb)
            {
                var path = settings.Storage.DatabasePath;
                if (!needsWrite && !createsDatabase && !Directory.Exists(settings.Storage.DataDirectory))
                {
                    // A directory without a database is a fresh one, at version 0; a missing directory is a mistyped --data.
                    throw new ConfigurationException($"Storage:DataDirectory: there is no directory at {Path.GetFullPath(settings.Storage.DataDirectory)} (check --data).");
                }

                // By design commands that only read never create the database file: a mistyped --data must not leave one behind.
                // Nor do they change one: read-only, DuckDB reads a crash's WAL without folding it into the file and no
                // wal-backups/ copy is made, so the next serve still sees (and reports) the unclean stop.
                var database = needsWrite ? OpenWritable(path, output) : DatabaseFiles.Exists(path) ? DuckDbDatabase.OpenReadOnly(path) : null;
                stores.Add(new Store(DuckDb, DuckDbSchema.Migrations, database is null ? null : DuckDbSchema.CreateRunner(database), $"duckdb {path}", database)
                {
                    SinksNote = SinksKeepingDroppedEvents(settings),
                    DatabasePath = path,
                });
            }

            if (target is null or ClickHouse && settings.ClickHouse.Enabled)
            {
                var runner = ClickHouseSchema.CreateRunner(ClickHouseClient.Create(settings.ClickHouse), settings.ClickHouse.Database);
                stores.Add(new Store(ClickHouse, ClickHouseSchema.Migrations, runner, runner.Target.Description, null));
            }

            return await action(stores, output, error);
        }
        catch (Exception ex) when (ex is ClickHouseException or HttpRequestException or TaskCanceledException)
        {
            error.WriteLine($"tradestore: ClickHouse at {settings.ClickHouse.BaseUri.GetLeftPart(UriPartial.Authority)} failed: {ex.Message.Trim()}");
            return ExitCodes.Failure;
        }
        finally
        {
            foreach (var store in stores)
            {
                store.Database?.Dispose();
            }
        }
    }

    private static async Task<int> StatusAsync(IReadOnlyList<Store> stores, TextWriter output, CancellationToken ct)
    {
        foreach (var store in stores)
        {
            StatusTable.Write(output, await store.StatusAsync(ct));
        }

        return ExitCodes.Success;
    }

    private static async Task<int> VerifyAsync(IReadOnlyList<Store> stores, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var exitCode = ExitCodes.Success;
        foreach (var store in stores)
        {
            var status = await store.StatusAsync(ct);
            if (status.Problems.Count > 0)
            {
                foreach (var problem in status.Problems)
                {
                    error.WriteLine($"tradestore: {problem}");
                }

                exitCode = ExitCodes.Failure;
                continue;
            }

            output.WriteLine(status.Pending.Count == 0
                ? $"{status.Target}: OK, at version {status.CurrentVersion}, the latest this binary knows."
                : $"{status.Target}: OK, at version {status.CurrentVersion}; {status.Pending.Count} pending up to version {status.LatestKnownVersion} ({string.Join(", ", status.Pending.Select(m => m.Id))}).");
        }

        return exitCode;
    }

    /// <remarks>DuckDB arrives opened read-only (or not at all, when it does not exist yet): every store's plan is checked on that before DuckDB is opened read-write.</remarks>
    private static async Task<int> UpAsync(IReadOnlyList<Store> stores, int? to, bool dryRun, TextWriter output, CancellationToken ct)
    {
        RequireSingleStore(stores, to is not null ? "--to" : null);
        foreach (var store in stores)
        {
            var plan = (await store.StatusAsync(ct)).PlanUp(to);
            if (dryRun)
            {
                WritePlan(output, store, plan);
            }
        }

        if (dryRun)
        {
            return ExitCodes.Success;
        }

        foreach (var store in stores)
        {
            using var writable = store.DatabasePath is { } path
                ? store.Database is { } readOnly ? ReopenWritable(readOnly, output) : OpenWritable(path, output)
                : null;
            var runner = writable is null ? store.Runner! : DuckDbSchema.CreateRunner(writable);
            if ((await runner.StatusAsync(ct)).MissingTables is { Count: > 0 } missing)
            {
                output.WriteLine($"{runner.Target.Description}: {string.Join(", ", missing)} missing at the recorded version; running the applied migrations again to create {(missing.Count == 1 ? "it" : "them")}. A migration found with only some of its tables is reverted first, so that the sync refills all of them from the journal.");
            }

            var steps = await runner.UpAsync(to, step =>
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{runner.Target.Description}: applied {step.Migration.Id} in {step.Duration.TotalMilliseconds:F1} ms"));
                if (step.Note is { } note)
                {
                    output.WriteLine($"{runner.Target.Description}: {note}");
                }
            }, ct);
            var status = await runner.StatusAsync(ct);
            output.WriteLine(steps.Count == 0
                ? $"{status.Target}: already at version {status.CurrentVersion}; nothing to apply."
                : $"{status.Target}: now at version {status.CurrentVersion} (this binary knows up to {status.LatestKnownVersion}).");
        }

        return ExitCodes.Success;
    }

    /// <remarks>
    /// DuckDB arrives opened read-only, and every refusal (nothing to do, a bad <c>--to</c>, no <c>--yes</c>, the journal log)
    /// is decided on that open: opened read-write, DuckDB folds a crash's WAL into the file and a copy goes to
    /// <c>wal-backups/</c>, so a refused command would have changed the files. Only a rollback that proceeds reopens it read-write.
    /// </remarks>
    private static async Task<int> DownAsync(IReadOnlyList<Store> stores, int to, bool dryRun, bool yes, TextWriter output, TextWriter error, CancellationToken ct)
    {
        RequireSingleStore(stores, "down");
        var store = stores[0];
        var (plan, log) = await PlanDownAsync(store, to, ct);
        if (plan.IsEmpty)
        {
            output.WriteLine($"{store.Description}: already at version {plan.FromVersion}; nothing to roll back.");
            return ExitCodes.Success;
        }

        if (dryRun)
        {
            WritePlan(output, store, plan);
            WriteLogNotes(output, log, "-- ");
            return ExitCodes.Success;
        }

        if (!yes)
        {
            error.WriteLine($"tradestore: refusing to roll back {store.Description} from version {plan.FromVersion} to {plan.ToVersion} without --yes. It would run:");
            foreach (var step in plan.Steps)
            {
                error.WriteLine($"  {step.Id}.down.sql: {step.DownDescription}");
            }

            WriteLogNotes(error, log, "");
            WriteSinksNote(error, store, plan);
            error.WriteLine("Nothing was changed. Take a backup, then run the same command with --yes.");
            return ExitCodes.BadInput;
        }

        log?.ThrowIfRefused();
        using var writable = store.Database is { } readOnly ? ReopenWritable(readOnly, output) : null;
        if (writable is not null)
        {
            // Planned again on the read-write open: it replayed the same WAL the read-only one read, so this differs only
            // if another process changed the files in between, and then the refusals are decided again on what is there now.
            store = store with { Runner = DuckDbSchema.CreateRunner(writable), Database = writable };
            (plan, log) = await PlanDownAsync(store, to, ct);
            log?.ThrowIfRefused();
        }

        if (log is { SetsLogAside: true })
        {
            // Before the tables are dropped: if a down script then fails, DuckDB still holds every event the log held
            // (Assess refused otherwise), and the next start begins a new log after DuckDB's end.
            output.WriteLine($"{store.Description}: moved the journal log {log.LogDirectory}/ aside to {log.SetLogAside()}/ (it holds the events this rollback drops).");
        }

        var runner = store.Runner!;
        await runner.DownAsync(to, step =>
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{runner.Target.Description}: reverted {step.Migration.Id} in {step.Duration.TotalMilliseconds:F1} ms ({step.Migration.DownDescription})")), ct);
        output.WriteLine($"{runner.Target.Description}: now at version {to}.");
        if (log is { SetsLogAside: false })
        {
            WriteLogNotes(output, log, "");
        }

        WriteSinksNote(output, store, plan);
        return ExitCodes.Success;
    }

    /// <summary>
    /// On DuckDB, what a rollback to 0 leaves in the configured sinks: they still hold every event it drops, and serve
    /// refuses to start (exit 5, "the journal lost … events") while one holds events past the journal's end, since a new
    /// write would take a seq they hold for another trade. Null without sinks.
    /// </summary>
    private static string? SinksKeepingDroppedEvents(TradeStoreSettings settings)
    {
        var redis = settings.Redis.Enabled ? $"Redis (key prefix '{settings.Redis.KeyPrefix}')" : null;
        var clickHouse = settings.ClickHouse.Enabled ? $"ClickHouse (database {settings.ClickHouse.Database})" : null;
        if (redis is null && clickHouse is null)
        {
            return null;
        }

        var steps = new List<string>();
        if (clickHouse is not null)
        {
            steps.Add("'tradestore migrate down --target clickhouse --to 0 --yes' and 'migrate up --target clickhouse'");
        }

        if (redis is not null)
        {
            steps.Add($"'redis-cli DEL {settings.Redis.KeyPrefix}trades:changes' and then 'tradestore redis rebuild'");
        }

        return $"{string.Join(" and ", new[] { redis, clickHouse }.OfType<string>())} still hold the events a rollback to 0 drops, and serve " +
               "refuses to start (exit 5, calling them lost from the journal) while a store holds events past the journal's end. " +
               $"To start again from nothing, empty them too: {string.Join("; ", steps)}.";
    }

    private static void WriteSinksNote(TextWriter writer, Store store, MigrationPlan plan)
    {
        if (plan.ToVersion == 0 && store.SinksNote is { } note)
        {
            writer.WriteLine(note);
        }
    }

    /// <summary>The rollback to <paramref name="to"/> and, on DuckDB, what it means for the journal log beside it (the down scripts know nothing of it).</summary>
    private static async Task<(MigrationPlan Plan, JournalLogRollback? Log)> PlanDownAsync(Store store, int to, CancellationToken ct)
    {
        var plan = (await store.StatusAsync(ct)).PlanDown(to);
        return (plan, store.Database is { } database && !plan.IsEmpty ? JournalLogRollback.Assess(database, plan) : null);
    }

    /// <summary>Closes the read-only open, then opens the database read-write.</summary>
    private static DuckDbDatabase ReopenWritable(DuckDbDatabase readOnly, TextWriter output)
    {
        readOnly.Dispose();
        return OpenWritable(readOnly.Path, output);
    }

    /// <summary>
    /// Opens the database read-write. After a crash that folds DuckDB's WAL into the file (a copy goes to wal-backups/), so
    /// the next serve no longer sees the unclean stop (its warning 1002): this says it instead, with where the copy is.
    /// </summary>
    private static DuckDbDatabase OpenWritable(string path, TextWriter output)
    {
        var database = DuckDbDatabase.Open(path);
        if (database.PreservedWal is { } walCopy)
        {
            output.WriteLine($"duckdb {database.Path}: the last stop was not clean: DuckDB replayed the WAL it left; a copy of it is kept at {walCopy}.");
        }

        return database;
    }

    /// <summary>What a rollback means for the journal log, and a refusal, each line after <paramref name="prefix"/>.</summary>
    private static void WriteLogNotes(TextWriter writer, JournalLogRollback? log, string prefix)
    {
        if (log is null)
        {
            return;
        }

        foreach (var note in log.Notes)
        {
            writer.WriteLine($"{prefix}{note}");
        }

        if (log.Refusal is { } refusal)
        {
            writer.WriteLine($"{prefix}With --yes too: {refusal}");
        }
    }

    private static void RequireSingleStore(IReadOnlyList<Store> stores, string? what)
    {
        if (what is not null && stores.Count > 1)
        {
            throw new MigrationException(MigrationErrorKind.InvalidRequest,
                $"{what} needs --target duckdb or --target clickhouse when ClickHouse is configured: their versions are numbered independently.");
        }
    }

    private static void WritePlan(TextWriter output, Store store, MigrationPlan plan)
    {
        var direction = plan.Direction.ToString().ToLowerInvariant();
        if (plan.IsEmpty)
        {
            output.WriteLine($"-- {store.Description}: at version {plan.FromVersion}; nothing to run (dry run).");
            return;
        }

        output.WriteLine($"-- {store.Description}: dry run, {direction} from version {plan.FromVersion} to {plan.ToVersion}; nothing is changed.");
        foreach (var step in plan.Steps)
        {
            output.WriteLine($"-- {step.Id}.{direction}.sql");
            output.WriteLine(plan.Sql(step).TrimEnd());
            output.WriteLine();
        }
    }

    /// <summary>One store to act on; <see cref="Runner"/> is null for a DuckDB file that does not exist yet (read-only commands).</summary>
    private sealed record Store(string Name, MigrationSet Migrations, MigrationRunner? Runner, string Description, DuckDbDatabase? Database)
    {
        /// <summary>On DuckDB with Redis or ClickHouse configured, what a rollback to 0 leaves in them and how to empty them.</summary>
        public string? SinksNote { get; init; }

        /// <summary>The DuckDB file (whether or not it exists yet); null for ClickHouse.</summary>
        public string? DatabasePath { get; init; }

        public async Task<MigrationStatus> StatusAsync(CancellationToken ct) =>
            Runner is null ? MigrationStatus.Compute(Description, Migrations, []) : await Runner.StatusAsync(ct);
    }
}
