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

/// <summary>One migration that ran: which, in which direction, and how long its script took.</summary>
public sealed record MigrationStepResult(Migration Migration, MigrationDirection Direction, TimeSpan Duration);
