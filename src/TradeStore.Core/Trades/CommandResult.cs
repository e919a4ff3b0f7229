namespace TradeStore.Core.Trades;

/// <summary>Why a command was refused; each maps to one HTTP status.</summary>
public enum CommandErrorKind
{
    /// <summary>Malformed input (400). <see cref="CommandError.Field"/> names the field.</summary>
    Validation,

    /// <summary>No such trade, or it was deleted (404).</summary>
    NotFound,

    /// <summary>A trade with this id already exists (409).</summary>
    AlreadyExists,

    /// <summary><c>expectedVersion</c> is not the current version (409); <see cref="CommandError.CurrentVersion"/> says what is.</summary>
    VersionConflict,

    /// <summary>The trade's status does not allow this command, for example a fill on a cancelled trade (409).</summary>
    InvalidTransition,

    /// <summary>The command queue is full (503 with Retry-After); nothing was written.</summary>
    Busy,

    /// <summary>The writer is stopping or has stopped (503); nothing was written.</summary>
    Unavailable,

    /// <summary>The batch could not be committed (500); nothing of it was written.</summary>
    StorageFailure,

    /// <summary>The idempotency key was used before for a different request (422); nothing was written (<see cref="IdempotencyKeys"/>).</summary>
    IdempotencyKeyReused,

    /// <summary>
    /// Committed to the leader's log but not acknowledged by enough followers within the bound (503, issue #14): not
    /// acknowledged, it may or may not survive a failover; retry with the same idempotency key.
    /// </summary>
    ReplicationUnavailable,

    /// <summary>
    /// The writer failed for good once the command's batch was written to the journal log, or may have been (500
    /// <c>internal</c>): it may have been applied (a restart replays the log); retry with the same idempotency key to learn
    /// the outcome. Unlike <see cref="Unavailable"/>, which applied nothing.
    /// </summary>
    InDoubt,
}

/// <summary>A refused command: what kind of refusal, which field, and words a person can act on.</summary>
public sealed record CommandError(CommandErrorKind Kind, string Message, string? Field = null, long? CurrentVersion = null)
{
    public static CommandError Invalid(string field, string message) => new(CommandErrorKind.Validation, message, field);

    /// <summary>
    /// The one refusal of an unknown, deleted or (for a key limited to accounts) another account's trade: the same words
    /// for all three, so the answer reveals nothing, and they name deletion, since a desk that deleted a trade a moment ago
    /// is told it "does not exist" otherwise.
    /// </summary>
    public static CommandError NotFound(string tradeId) =>
        new(CommandErrorKind.NotFound, $"Trade {tradeId} does not exist or was deleted.", "tradeId");
}

/// <summary>
/// The outcome of one command. <see cref="Replayed"/> is true when an idempotency key matched an earlier
/// command: <see cref="Trade"/> is then the state that command produced, and nothing was written.
/// </summary>
public sealed record CommandResult(Trade? Trade, CommandError? Error, bool Replayed = false)
{
    public bool Succeeded => Error is null;

    public static CommandResult Applied(Trade trade) => new(trade, null);

    public static CommandResult Replay(Trade trade) => new(trade, null, Replayed: true);

    public static CommandResult Refused(CommandError error) => new(null, error);
}
