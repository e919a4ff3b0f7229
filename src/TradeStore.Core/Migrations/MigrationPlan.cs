namespace TradeStore.Core.Migrations;

public enum MigrationDirection
{
    Up,
    Down,
}

/// <summary>The migrations one command will run, in the order it runs them, taking a store from one version to another.</summary>
public sealed record MigrationPlan(MigrationDirection Direction, int FromVersion, int ToVersion, IReadOnlyList<Migration> Steps)
{
    public bool IsEmpty => Steps.Count == 0;

    /// <summary>The SQL each step runs, as <c>--dry-run</c> prints it.</summary>
    public string Sql(Migration step) => Direction == MigrationDirection.Up ? step.UpSql : step.DownSql;
}

/// <summary>
/// What a target did for one step: how long its script took and, when it had to do more than the script says (a
/// ClickHouse migration found half there is reverted before it is applied), a sentence for the operator.
/// </summary>
public sealed record MigrationStepRun(TimeSpan Duration, string? Note = null);

/// <summary>One migration that ran: which, in which direction, how long its script took, and the target's note if any.</summary>
public sealed record MigrationStepResult(Migration Migration, MigrationDirection Direction, TimeSpan Duration, string? Note = null);
