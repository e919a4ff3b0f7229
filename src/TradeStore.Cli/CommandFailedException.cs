namespace TradeStore.Cli;

/// <summary>
/// A command could not do its work for a reason the operator can act on (a server that does not answer, a child process
/// that did not start): <see cref="CliRunner"/> prints the message on one line and exits with <see cref="ExitCodes.Failure"/>.
/// </summary>
public sealed class CommandFailedException(string message) : Exception(message);
