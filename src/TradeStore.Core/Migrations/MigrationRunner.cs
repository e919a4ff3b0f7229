namespace TradeStore.Core.Migrations;

/// <summary>
/// Runs a <see cref="MigrationSet"/> against one <see cref="IMigrationTarget"/>: status, up, down, verify.
/// Every command first compares the store with the set and refuses drift or a newer schema before it changes anything.
/// </summary>
public sealed class MigrationRunner(MigrationSet migrations, IMigrationTarget target)
{
    public MigrationSet Migrations { get; } = migrations;

    public IMigrationTarget Target { get; } = target;

    /// <summary>The store compared with the set, including the tables its applied migrations created that are gone; reads only.</summary>
    public async Task<MigrationStatus> StatusAsync(CancellationToken cancellationToken = default)
    {
        var status = MigrationStatus.Compute(Target.Description, Migrations, await Target.ReadAppliedAsync(cancellationToken));
        var applied = status.Entries.Where(e => e.State == MigrationState.Applied).Select(e => e.Known!).ToList();
        return applied.Count == 0 ? status : status.WithMissingTables(await Target.MissingTablesAsync(applied, cancellationToken));
    }

    /// <summary>What <see cref="UpAsync"/> would run; changes nothing (<c>--dry-run</c>).</summary>
    public async Task<MigrationPlan> PlanUpAsync(int? toVersion = null, CancellationToken cancellationToken = default) =>
        (await StatusAsync(cancellationToken)).PlanUp(toVersion);

    /// <summary>What <see cref="DownAsync"/> would run; changes nothing (<c>--dry-run</c>).</summary>
    public async Task<MigrationPlan> PlanDownAsync(int toVersion, CancellationToken cancellationToken = default) =>
        (await StatusAsync(cancellationToken)).PlanDown(toVersion);

    /// <summary>Applies pending migrations in order up to <paramref name="toVersion"/> (default: the latest known).</summary>
    /// <param name="onStep">Called after each migration, for progress output.</param>
    /// <exception cref="MigrationException">Drift, a newer schema, an impossible target version, or a failed script.</exception>
    public async Task<IReadOnlyList<MigrationStepResult>> UpAsync(int? toVersion = null, Action<MigrationStepResult>? onStep = null, CancellationToken cancellationToken = default)
    {
        var plan = await PlanUpAsync(toVersion, cancellationToken);
        if (plan.IsEmpty)
        {
            return [];
        }

        await Target.CheckPlanAsync(plan, cancellationToken);
        await Target.PrepareAsync(cancellationToken);
        return await RunAsync(plan, onStep, cancellationToken);
    }

    /// <summary>Reverts applied migrations, newest first, down to <paramref name="toVersion"/> (0 = empty schema).</summary>
    /// <exception cref="MigrationException">Drift, a newer schema, an impossible target version, a plan the target refuses (<see cref="IMigrationTarget.CheckPlanAsync"/>), or a failed script.</exception>
    public async Task<IReadOnlyList<MigrationStepResult>> DownAsync(int toVersion, Action<MigrationStepResult>? onStep = null, CancellationToken cancellationToken = default)
    {
        var plan = await PlanDownAsync(toVersion, cancellationToken);
        if (plan.IsEmpty)
        {
            return [];
        }

        await Target.CheckPlanAsync(plan, cancellationToken);
        return await RunAsync(plan, onStep, cancellationToken);
    }

    /// <summary>Throws unless the store is exactly at this binary's latest version without drift (start-up with automatic migration off, verify).</summary>
    /// <param name="advice">Why the caller does not migrate and what to do, for the message when migrations are pending.</param>
    /// <exception cref="MigrationException">Kind <see cref="MigrationErrorKind.Pending"/>, <see cref="MigrationErrorKind.Drift"/> or <see cref="MigrationErrorKind.DatabaseNewer"/>.</exception>
    public async Task RequireCurrentAsync(PendingMigrationAdvice advice, CancellationToken cancellationToken = default)
    {
        var status = await StatusAsync(cancellationToken);
        status.ThrowIfUnsafe();
        if (status.MissingTables.Count > 0)
        {
            throw new MigrationException(MigrationErrorKind.Pending, $"{status.IncompleteProblem} {advice.Remedy}");
        }

        if (status.Pending.Count > 0)
        {
            throw new MigrationException(MigrationErrorKind.Pending,
                $"{status.Target} is at schema version {status.CurrentVersion} and this binary needs version {status.LatestKnownVersion} " +
                $"({status.Pending.Count} pending: {string.Join(", ", status.Pending.Select(m => m.Id))}); {advice.Reason}. {advice.Remedy}");
        }
    }

    private async Task<IReadOnlyList<MigrationStepResult>> RunAsync(MigrationPlan plan, Action<MigrationStepResult>? onStep, CancellationToken cancellationToken)
    {
        var results = new List<MigrationStepResult>();
        var version = plan.FromVersion;
        foreach (var migration in plan.Steps)
        {
            MigrationStepRun run;
            try
            {
                run = plan.Direction == MigrationDirection.Up
                    ? await Target.ApplyAsync(migration, cancellationToken)
                    : await Target.RevertAsync(migration, cancellationToken);
            }
            catch (Exception ex) when (ex is not MigrationException and not OperationCanceledException)
            {
                throw new MigrationException(MigrationErrorKind.Failed,
                    $"{Target.Description}: migration {migration.Id} ({plan.Direction.ToString().ToLowerInvariant()}) failed: {ex.Message.Trim()} {string.Format(System.Globalization.CultureInfo.InvariantCulture, Target.FailureNote, version)}",
                    ex);
            }

            version = plan.Direction == MigrationDirection.Up ? migration.Version : migration.Version - 1;
            var result = new MigrationStepResult(migration, plan.Direction, run.Duration, run.Note);
            results.Add(result);
            onStep?.Invoke(result);
        }

        return results;
    }
}
