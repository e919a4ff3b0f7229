namespace TradeStore.Core.Migrations;

/// <summary>Where one version stands in a store compared with this binary.</summary>
public enum MigrationState
{
    /// <summary>Known to this binary, not applied.</summary>
    Pending,

    /// <summary>Applied with the checksum of the script in this binary.</summary>
    Applied,

    /// <summary>Applied, but the script in this binary has a different checksum: it was edited after it ran.</summary>
    Drifted,

    /// <summary>Applied by a newer binary; this binary has no script for it.</summary>
    Unknown,
}

/// <summary>One row of <c>migrate status</c>.</summary>
public sealed record MigrationStatusEntry(int Version, string Name, MigrationState State, Migration? Known, AppliedMigration? Applied)
{
    public string Id => Migration.FormatId(Version, Name);
}

/// <summary>
/// A store's applied migrations compared with the set this binary knows: what is pending, what drifted, and
/// whether the store is newer than the binary. Pure: computed from two lists, so planning is testable without a database.
/// </summary>
public sealed class MigrationStatus
{
    private MigrationStatus(string target, MigrationSet known, IReadOnlyList<MigrationStatusEntry> entries)
    {
        Target = target;
        Known = known;
        Entries = entries;
    }

    public string Target { get; }

    public MigrationSet Known { get; }

    /// <summary>Every version applied or known, in version order.</summary>
    public IReadOnlyList<MigrationStatusEntry> Entries { get; }

    /// <summary>The highest applied version; 0 when none is.</summary>
    public int CurrentVersion => Entries.Where(e => e.Applied is not null).Select(e => e.Version).DefaultIfEmpty(0).Max();

    public int LatestKnownVersion => Known.LatestVersion;

    public IReadOnlyList<MigrationStatusEntry> Drifted => Entries.Where(e => e.State == MigrationState.Drifted).ToList();

    public IReadOnlyList<MigrationStatusEntry> Unknown => Entries.Where(e => e.State == MigrationState.Unknown).ToList();

    public IReadOnlyList<Migration> Pending => Entries.Where(e => e.State == MigrationState.Pending).Select(e => e.Known!).ToList();

    /// <summary>Known versions below the current one that were never applied (someone removed bookkeeping rows by hand).</summary>
    public IReadOnlyList<MigrationStatusEntry> Missing => Entries.Where(e => e.State == MigrationState.Pending && e.Version < CurrentVersion).ToList();

    public bool IsNewerThanBinary => Unknown.Count > 0;

    /// <summary>
    /// Tables the applied migrations created that do not exist (<see cref="IMigrationTarget.MissingTablesAsync"/>): the
    /// recorded version is incomplete. <see cref="PlanUp"/> runs the applied migrations again to create them.
    /// </summary>
    public IReadOnlyList<string> MissingTables { get; private init; } = [];

    /// <summary>What <c>verify</c> says of <see cref="MissingTables"/>; null when none is missing.</summary>
    public string? IncompleteProblem => MissingTables.Count == 0
        ? null
        : $"{Target}: version {CurrentVersion} is recorded but {(MissingTables.Count == 1 ? "its table" : "its tables")} {string.Join(", ", MissingTables)} " +
          $"{(MissingTables.Count == 1 ? "does" : "do")} not exist (a migrate down that stopped half-way, or dropped by hand); " +
          $"'tradestore migrate up' creates {(MissingTables.Count == 1 ? "it" : "them")} again (emptying the migration's other tables), and the sync then refills them from the journal.";

    /// <summary>True when nothing is pending, drifted, missing or unknown.</summary>
    public bool IsCurrent => Problems.Count == 0 && Pending.Count == 0;

    /// <summary>This status with the tables its applied migrations created that are gone.</summary>
    public MigrationStatus WithMissingTables(IReadOnlyList<string> tables) => new(Target, Known, Entries) { MissingTables = tables };

    /// <summary>Everything <c>verify</c> reports, one line each; empty when the store is consistent with this binary.</summary>
    public IReadOnlyList<string> Problems => IncompleteProblem is { } incomplete ? [.. Blocking, incomplete] : Blocking;

    /// <summary>The problems no command may run past: a newer schema, drift, versions missing from the bookkeeping.</summary>
    private List<string> Blocking
    {
        get
        {
            var problems = new List<string>();
            if (IsNewerThanBinary)
            {
                problems.Add($"{Target} is at schema version {CurrentVersion}, newer than this binary knows (version {LatestKnownVersion}); unknown: {string.Join(", ", Unknown.Select(e => e.Id))}. Use a newer tradestore.");
            }

            foreach (var entry in Drifted)
            {
                problems.Add($"{Target}: migration {entry.Id} was applied with checksum {entry.Applied!.Checksum} but this binary's script has {entry.Known!.Checksum}: the script was edited after it ran.");
            }

            foreach (var entry in Missing)
            {
                problems.Add($"{Target}: migration {entry.Id} is not recorded although version {CurrentVersion} is: the schema_migrations table was changed by hand.");
            }

            return problems;
        }
    }

    /// <summary>Compares the applied rows of a store with the known set.</summary>
    public static MigrationStatus Compute(string target, MigrationSet known, IEnumerable<AppliedMigration> applied)
    {
        var appliedByVersion = applied.ToDictionary(a => a.Version);
        var versions = known.Migrations.Select(m => m.Version).Union(appliedByVersion.Keys).Order();
        var entries = new List<MigrationStatusEntry>();
        foreach (var version in versions)
        {
            var migration = known.Find(version);
            appliedByVersion.TryGetValue(version, out var row);
            var state = (migration, row) switch
            {
                (null, _) => MigrationState.Unknown,
                (_, null) => MigrationState.Pending,
                _ when !string.Equals(migration.Checksum, row.Checksum, StringComparison.OrdinalIgnoreCase) => MigrationState.Drifted,
                _ => MigrationState.Applied,
            };
            entries.Add(new MigrationStatusEntry(version, migration?.Name ?? row!.Name, state, migration, row));
        }

        return new MigrationStatus(target, known, entries);
    }

    /// <summary>Throws when running anything against this store would be unsafe: drift, missing versions, or a newer schema.</summary>
    /// <exception cref="MigrationException">Kind <see cref="MigrationErrorKind.DatabaseNewer"/> or <see cref="MigrationErrorKind.Drift"/>.</exception>
    public void ThrowIfUnsafe()
    {
        if (IsNewerThanBinary)
        {
            throw new MigrationException(MigrationErrorKind.DatabaseNewer, Problems[0]);
        }

        if (Blocking is { Count: > 0 } blocking)
        {
            throw new MigrationException(MigrationErrorKind.Drift, string.Join(Environment.NewLine, blocking) + " Refusing to run against a schema that differs from this binary's scripts.");
        }
    }

    /// <summary>The migrations to apply, in order, to reach <paramref name="toVersion"/> (default: the latest known).</summary>
    public MigrationPlan PlanUp(int? toVersion = null)
    {
        ThrowIfUnsafe();
        var to = toVersion ?? LatestKnownVersion;
        if (to < 0)
        {
            throw new MigrationException(MigrationErrorKind.InvalidRequest, $"{Target}: cannot migrate up to version {to}: a version is 0 or more.");
        }

        if (to > LatestKnownVersion)
        {
            throw new MigrationException(MigrationErrorKind.InvalidRequest, $"{Target}: cannot migrate up to version {to}: this binary knows versions up to {LatestKnownVersion}.");
        }

        if (to < CurrentVersion)
        {
            throw new MigrationException(MigrationErrorKind.InvalidRequest, $"{Target}: cannot migrate up to version {to}: the database is at version {CurrentVersion}; use 'migrate down --to {to}' to roll back.");
        }

        // Tables gone at the recorded version: the applied migrations run again first. By design their statements are
        // idempotent (ClickHouse DDL is not transactional), so this creates what is missing and leaves the rest as it is.
        var again = MissingTables.Count == 0 ? [] : Entries.Where(e => e.State == MigrationState.Applied).Select(e => e.Known!);
        return new MigrationPlan(MigrationDirection.Up, CurrentVersion, to, [.. again, .. Pending.Where(m => m.Version <= to)]);
    }

    /// <summary>The migrations to revert, newest first, to reach <paramref name="toVersion"/> (0 = empty schema).</summary>
    public MigrationPlan PlanDown(int toVersion)
    {
        ThrowIfUnsafe();
        if (toVersion < 0 || toVersion > CurrentVersion)
        {
            throw new MigrationException(MigrationErrorKind.InvalidRequest, $"{Target}: cannot migrate down to version {toVersion}: the database is at version {CurrentVersion}; choose a version from 0 to {CurrentVersion}.");
        }

        var steps = Entries.Where(e => e.State == MigrationState.Applied && e.Version > toVersion).OrderByDescending(e => e.Version).Select(e => e.Known!).ToList();
        return new MigrationPlan(MigrationDirection.Down, CurrentVersion, toVersion, steps);
    }
}
