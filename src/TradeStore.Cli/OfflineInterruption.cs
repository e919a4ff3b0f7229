using System.Runtime.InteropServices;

namespace TradeStore.Cli;

/// <summary>
/// Ctrl-C (SIGINT) or SIGTERM during a long offline command (<c>verify</c>, <c>recover</c>, <c>redis rebuild</c>):
/// without it the runtime ended the process at once, exit 130 and not a line, and a <c>recover</c> left the database it
/// was building behind. The command says what it was doing (<see cref="Doing"/>); the signal then ends it with one line on
/// stderr naming that and the state it left, and exit 128 + the signal (130, 143), as a shell reports a signal.
/// </summary>
/// <remarks>
/// The signal cancels <see cref="Token"/>: the command stops within the step it is in (a DuckDB statement is interrupted,
/// a loop over rows or events checks the token), undoes what it started, and reports through <see cref="Report"/>, so
/// the line names the step and the exit is an ordinary one. A command that changes nothing (<see cref="ForReadOnly"/>,
/// <c>verify</c>) has nothing to undo; until 2026-12-03 it was ended by the signal itself, which a parent process saw as
/// a death by signal rather than exit 130. A second signal ends any command at once, as the runtime does by default.
/// </remarks>
internal sealed class OfflineInterruption : IDisposable
{
    private readonly string _command;
    private readonly TextWriter _error;
    private readonly CancellationTokenSource _cancel;
    private readonly PosixSignalRegistration[] _registrations;
    private int _signal;
    private string? _doingAtSignal;

    private OfflineInterruption(string command, TextWriter error, CancellationToken outer)
    {
        _command = command;
        _error = error;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
    }

    /// <summary>Cancelled by the first signal, or by <c>outer</c>.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>
    /// What the command is doing, for the line ("while reading ClickHouse's history (120000 of 500000 events)"); set as it
    /// goes. Read when the signal arrives: the line says where the command was then, not where it noticed.
    /// </summary>
    public Func<string> Doing { get; set; } = () => "";

    /// <summary>The state the command leaves when it stops now, for <see cref="Report"/>; "nothing was changed." until it says otherwise.</summary>
    public string State { get; set; } = "nothing was changed.";

    /// <summary>Whether a signal arrived.</summary>
    public bool Interrupted => Volatile.Read(ref _signal) != 0;

    /// <summary>For <c>verify</c>: its <see cref="State"/> says that it changes nothing.</summary>
    public static OfflineInterruption ForReadOnly(string command, TextWriter error, CancellationToken outer) =>
        new(command, error, outer) { State = $"{command} changes nothing: nothing was changed." };

    /// <summary>For a command that changes files or Redis: it sets <see cref="State"/> as it goes.</summary>
    public static OfflineInterruption ForChanges(string command, TextWriter error, CancellationToken outer) => new(command, error, outer);

    /// <summary>Writes the one line (what was interrupted, then <paramref name="state"/>) and returns the exit code, 128 + the signal.</summary>
    public int Report(string state)
    {
        var signal = Volatile.Read(ref _signal);
        lock (_error)
        {
            _error.WriteLine($"tradestore: {_command} interrupted ({Name(signal)}){Suffix(Volatile.Read(ref _doingAtSignal) ?? Doing())}; {state}");
        }

        return 128 + signal;
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _cancel.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        var signal = context.Signal == PosixSignal.SIGINT ? 2 : 15;
        if (Interlocked.CompareExchange(ref _signal, signal, 0) != 0)
        {
            return; // a second signal: the runtime's default, the end of the process
        }

        Volatile.Write(ref _doingAtSignal, Doing());
        context.Cancel = true;
        _cancel.Cancel();
    }

    private static string Suffix(string doing) => doing.Length == 0 ? "" : $" {doing}";

    private static string Name(int signal) => signal == 2 ? "SIGINT" : "SIGTERM";
}
