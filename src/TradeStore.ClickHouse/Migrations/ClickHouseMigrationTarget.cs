using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using TradeStore.Core.Migrations;

namespace TradeStore.ClickHouse.Migrations;

/// <summary>
/// Migrations on ClickHouse, whose DDL is not transactional: every statement of a script is idempotent
/// (<c>IF NOT EXISTS</c> / <c>IF EXISTS</c>), so a run interrupted half-way completes when repeated, and the
/// bookkeeping row is written only after the last statement succeeded.
/// </summary>
/// <remarks>
/// By design <c>schema_migrations</c> is append-only: a down inserts a row with <c>applied = 0</c> and the
/// newest row per version wins (<c>ReplacingMergeTree(recorded_us)</c>, read with <c>FINAL</c>). ClickHouse 18.16
/// deletes only through asynchronous mutations, so a deleted row could still be read right after a down.
/// </remarks>
internal sealed partial class ClickHouseMigrationTarget : IMigrationTarget
{
    private const string BookkeepingDdl = """
        CREATE TABLE IF NOT EXISTS schema_migrations
        (
            version       UInt32,
            name          String,
            checksum      String,
            applied       UInt8,
            applied_at_us Int64,
            duration_ms   Float64,
            recorded_us   Int64
        )
        ENGINE = ReplacingMergeTree(recorded_us)
        ORDER BY version
        """;

    private readonly ClickHouseClient _client;
    private readonly string _database;

    public ClickHouseMigrationTarget(ClickHouseClient client, string database)
    {
        if (!Identifier().IsMatch(database))
        {
            throw new ArgumentException($"ClickHouse database name '{database}' must be a plain identifier (letters, digits, underscore).", nameof(database));
        }

        _client = client;
        _database = database;
    }

    // Scheme, host and port only: a URL may carry user:password, which must never be printed.
    public string Description => $"clickhouse {_client.BaseUri.Scheme}://{_client.BaseUri.Host}:{_client.BaseUri.Port}/{_database}";

    public string FailureNote =>
        "ClickHouse DDL is not transactional, but every statement is idempotent and the migration is recorded only when all succeeded: " +
        "fix the cause and run 'tradestore migrate up --target clickhouse' again to complete it.";

    public async Task<IReadOnlyList<AppliedMigration>> ReadAppliedAsync(CancellationToken cancellationToken)
    {
        var exists = await _client.QueryAsync(
            $"SELECT count() FROM system.tables WHERE database = '{_database}' AND name = 'schema_migrations'", cancellationToken);
        if (exists.Trim() == "0")
        {
            return [];
        }

        var rows = await _client.QueryAsync(
            "SELECT version, name, checksum, applied_at_us, duration_ms FROM schema_migrations FINAL WHERE applied = 1 ORDER BY version FORMAT JSONEachRow",
            cancellationToken, _database);
        var applied = new List<AppliedMigration>();
        foreach (var line in rows.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            using var row = JsonDocument.Parse(line);
            var root = row.RootElement;
            applied.Add(new AppliedMigration(
                root.GetProperty("version").GetInt32(),
                root.GetProperty("name").GetString()!,
                root.GetProperty("checksum").GetString()!,
                DateTimeOffset.UnixEpoch.AddTicks(Int64Of(root.GetProperty("applied_at_us")) * 10),
                TimeSpan.FromMilliseconds(root.GetProperty("duration_ms").GetDouble())));
        }

        return applied;
    }

    /// <summary>
    /// The tables the applied up scripts leave (each <c>CREATE TABLE IF NOT EXISTS</c>, less a later <c>DROP TABLE IF
    /// EXISTS</c>) that <c>system.tables</c> does not list. A down is recorded only after its last statement, so one that
    /// stopped after its first <c>DROP</c> (a kill, a timeout) still reads as applied.
    /// </summary>
    public async Task<IReadOnlyList<string>> MissingTablesAsync(IReadOnlyList<Migration> applied, CancellationToken cancellationToken)
    {
        var expected = new List<string>();
        foreach (var statement in applied.OrderBy(m => m.Version).SelectMany(m => ClickHouseSchema.SplitStatements(m.UpSql)))
        {
            if (CreateTable().Match(statement) is { Success: true } created && !expected.Contains(created.Groups[1].Value))
            {
                expected.Add(created.Groups[1].Value);
            }
            else if (DropTable().Match(statement) is { Success: true } dropped)
            {
                expected.Remove(dropped.Groups[1].Value);
            }
        }

        if (expected.Count == 0)
        {
            return [];
        }

        var existing = await ExistingTablesAsync(cancellationToken);
        return expected.Where(table => !existing.Contains(table)).ToList();
    }

    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        await _client.ExecuteAsync($"CREATE DATABASE IF NOT EXISTS {_database}", cancellationToken);
        await _client.ExecuteAsync(BookkeepingDdl, cancellationToken, _database);
    }

    public async Task<MigrationStepRun> ApplyAsync(Migration migration, CancellationToken cancellationToken)
    {
        var duration = TimeSpan.Zero;
        string? note = null;
        if (await PartlyThereAsync(migration, cancellationToken) is { } partly)
        {
            // Some of its tables exist and some do not (a down that stopped half-way, a DROP by hand, an up cut short):
            // creating only the missing ones would leave, say, trade_state empty beside a full trade_events, and the sync
            // refills from trade_events' max(seq), so the older trades would never reach it. Its down first empties the
            // rest, and the sync then refills every table from the journal (event 4011). The rows it drops are named.
            var rows = await RowCountsAsync(partly.Present, cancellationToken);
            duration += await RunAsync(migration.DownSql, cancellationToken);
            note = $"migration {migration.Id} was half there: {Join(partly.Present)} existed without {Join(partly.Missing)} " +
                   "(an earlier run cut short, a rollback that stopped half-way, or a DROP by hand); its down script ran first and dropped " +
                   $"{string.Join(", ", partly.Present.Select(table => $"{table} ({rows[table].ToString("N0", CultureInfo.InvariantCulture)} rows)"))}, " +
                   "so that the ClickHouse sync refills every table of it from the journal";
        }

        duration += await RunAsync(migration.UpSql, cancellationToken);
        await RecordAsync(migration, applied: true, duration, cancellationToken);
        return new MigrationStepRun(duration, note);

        static string Join(IReadOnlyList<string> tables) => string.Join(" and ", tables);
    }

    /// <summary>The tables of a migration's up script that exist and those that do not, when some but not all exist.</summary>
    private sealed record PartlyThere(IReadOnlyList<string> Present, IReadOnlyList<string> Missing);

    /// <summary>Which of the tables <paramref name="migration"/>'s up script creates exist, when some but not all do; otherwise null.</summary>
    private async Task<PartlyThere?> PartlyThereAsync(Migration migration, CancellationToken cancellationToken)
    {
        var created = ClickHouseSchema.SplitStatements(migration.UpSql)
            .Select(statement => CreateTable().Match(statement))
            .Where(match => match.Success)
            .Select(match => match.Groups[1].Value)
            .ToList();
        if (created.Count < 2)
        {
            return null;
        }

        var existing = await ExistingTablesAsync(cancellationToken);
        var present = created.Where(existing.Contains).ToList();
        return present.Count > 0 && present.Count < created.Count ? new PartlyThere(present, created.Except(present).ToList()) : null;
    }

    private async Task<Dictionary<string, long>> RowCountsAsync(IEnumerable<string> tables, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var table in tables)
        {
            counts[table] = long.Parse((await _client.QueryAsync($"SELECT count() FROM {table}", cancellationToken, _database)).Trim(), CultureInfo.InvariantCulture);
        }

        return counts;
    }

    private async Task<HashSet<string>> ExistingTablesAsync(CancellationToken cancellationToken)
    {
        var listed = await _client.QueryAsync($"SELECT name FROM system.tables WHERE database = '{_database}'", cancellationToken);
        return listed.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
    }

    public async Task<MigrationStepRun> RevertAsync(Migration migration, CancellationToken cancellationToken)
    {
        var duration = await RunAsync(migration.DownSql, cancellationToken);
        await RecordAsync(migration, applied: false, duration, cancellationToken);
        return new MigrationStepRun(duration);
    }

    private async Task<TimeSpan> RunAsync(string script, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        foreach (var statement in ClickHouseSchema.SplitStatements(script))
        {
            await _client.ExecuteAsync(statement, cancellationToken, _database);
        }

        return stopwatch.Elapsed;
    }

    private async Task RecordAsync(Migration migration, bool applied, TimeSpan duration, CancellationToken cancellationToken)
    {
        // The newest row per version wins, so recorded_us must grow even when two records fall in one microsecond.
        var last = await _client.QueryAsync("SELECT max(recorded_us) FROM schema_migrations", cancellationToken, _database);
        var now = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks / 10;
        var recorded = Math.Max(now, long.Parse(last.Trim(), CultureInfo.InvariantCulture) + 1);
        var row = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["version"] = migration.Version,
            ["name"] = migration.Name,
            ["checksum"] = migration.Checksum,
            ["applied"] = applied ? 1 : 0,
            ["applied_at_us"] = now,
            ["duration_ms"] = Math.Round(duration.TotalMilliseconds, 3),
            ["recorded_us"] = recorded,
        });
        using var body = new StringContent(row, Encoding.UTF8);
        body.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        await _client.InsertAsync("INSERT INTO schema_migrations FORMAT JSONEachRow", body, cancellationToken, _database);
    }

    /// <summary>JSONEachRow quotes 64-bit integers (<c>"42"</c>).</summary>
    private static long Int64Of(JsonElement element) =>
        element.ValueKind == JsonValueKind.String ? long.Parse(element.GetString()!, CultureInfo.InvariantCulture) : element.GetInt64();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"^CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+([A-Za-z_][A-Za-z0-9_]*)", RegexOptions.IgnoreCase)]
    private static partial Regex CreateTable();

    [GeneratedRegex(@"^DROP\s+TABLE\s+IF\s+EXISTS\s+([A-Za-z_][A-Za-z0-9_]*)", RegexOptions.IgnoreCase)]
    private static partial Regex DropTable();
}
