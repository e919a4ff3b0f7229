using System.Runtime.InteropServices;

namespace TradeStore.Bench;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM for <c>tradestore-bench</c>: the first one cancels <see cref="Token"/>, so the running
/// benchmark stops and its <c>finally</c> blocks stop the child servers (their graceful SIGTERM) and delete the temporary
/// databases; a second one kills the child servers (<see cref="ChildProcesses"/>) and ends the process at once, leaving
/// its temporary files. Without it the runtime ended the process on the first signal
/// without running any of them: a child <c>serve</c> went on running and its folder stayed in the temporary directory.
/// </summary>
internal sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly TextWriter _error;
    private readonly PosixSignalRegistration[] _registrations;
    private int _signal;

    public Interruption(TextWriter error)
    {
        _error = error;
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
    }

    /// <summary>Cancelled at the first SIGINT or SIGTERM.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>The shell's code for a process stopped by the signal received (130 for SIGINT, 143 for SIGTERM), or null.</summary>
    public int? ExitCode => Volatile.Read(ref _signal) switch
    {
        0 => null,
        var signal => 128 + signal,
    };

    private void Handle(PosixSignalContext context)
    {
        var number = context.Signal == PosixSignal.SIGINT ? 2 : 15;
        if (Interlocked.CompareExchange(ref _signal, number, 0) != 0)
        {
            // The second signal: the default action, at once; the child servers die first instead of running on orphaned.
            ChildProcesses.KillAll();
            return;
        }

        context.Cancel = true;
        _error.WriteLine($"tradestore-bench: {(number == 2 ? "interrupted" : "terminated")}: stopping the run, its child servers and temporary files (a second Ctrl-C kills them and stops at once)");
        _cancel.Cancel();
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _cancel.Dispose();
    }
}
