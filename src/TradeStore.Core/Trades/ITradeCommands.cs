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
}
