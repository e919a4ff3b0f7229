namespace TradeStore.Core.Migrations;

/// <summary>Why the runner refused or stopped; the CLI maps each kind to an exit code.</summary>
public enum MigrationErrorKind
{
    /// <summary>An applied migration's checksum differs from the script in this binary, or versions are missing below the current one.</summary>
    Drift,

    /// <summary>The database holds versions this binary does not know: an old binary never writes into a newer schema.</summary>
    DatabaseNewer,

    /// <summary>Migrations are pending and automatic migration is off.</summary>
    Pending,

    /// <summary>A script failed while running.</summary>
    Failed,

    /// <summary>The requested target version is impossible (for example <c>up --to</c> below the current version).</summary>
    InvalidRequest,

    /// <summary>
    /// A rollback would lose acknowledged data that the store's own files still hold (the journal log holds events DuckDB
    /// lacks): refused before anything changed, with what to do first. Not a bad command line: the same command runs once
    /// the data is where the older schema looks for it.
    /// </summary>
    WouldLoseData,
}

/// <summary>A migration was refused or failed; the message says what happened, to which store, and what to do.</summary>
public sealed class MigrationException(MigrationErrorKind kind, string message, Exception? innerException = null)
    : Exception(message, innerException)
{
    public MigrationErrorKind Kind { get; } = kind;
}
