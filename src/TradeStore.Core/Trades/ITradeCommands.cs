namespace TradeStore.Core.Trades;

/// <summary>
/// The write side: every change to a trade goes through here, in-process (server, tests and benchmarks alike).
/// A returned result means the outcome is final: an applied command is committed to DuckDB.
/// </summary>
public interface ITradeCommands
{
    /// <summary>
    /// Queues <paramref name="command"/> for the single writer and completes when its batch has committed
    /// (or when it is refused). Never throws for a refused command: the refusal is in the result
    /// (<see cref="CommandErrorKind.Busy"/> when the queue is full, without waiting).
    /// </summary>
    ValueTask<CommandResult> SubmitAsync(TradeCommand command, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="SubmitAsync"/> for a caller that awaits this one result before submitting anything else (one HTTP
    /// request with one command). When no batch is being committed, the command may be committed on the caller's own
    /// thread, which saves the hand-offs to and from the writer. A caller that submits many commands before awaiting
    /// them uses <see cref="SubmitAsync"/>, so they are committed together.
    /// </summary>
    ValueTask<CommandResult> SubmitAndWaitAsync(TradeCommand command, CancellationToken cancellationToken = default) => SubmitAsync(command, cancellationToken);
}
