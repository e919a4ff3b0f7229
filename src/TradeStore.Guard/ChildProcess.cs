using System.Diagnostics;
using System.Globalization;
using TradeStore.Core.Lifetime;

namespace TradeStore.Guard;

/// <summary>
/// The supervised process: start, signal, kill, wait. Its output goes straight to the guard's own stdout and
/// stderr (inherited, not piped), so the child's log lines reach the journal unchanged and in order.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task _exited;

    private ChildProcess(Process process, DateTimeOffset startedAt)
    {
        _process = process;
        StartedAt = startedAt;
        Id = process.Id;
        _exited = process.WaitForExitAsync();
    }

    public int Id { get; }

    public DateTimeOffset StartedAt { get; }

    /// <summary>Completes when the process has exited.</summary>
    public Task Exited => _exited;

    public bool HasExited => _exited.IsCompleted;

    /// <summary>The exit code; 128 + n when signal n ended the process.</summary>
    public int ExitCode => _process.ExitCode;

    /// <param name="command">What to run.</param>
    /// <param name="now">When it starts.</param>
    /// <param name="probeToken">The guard's probe secret (<see cref="GuardEnvironment.ProbeTokenVariable"/>).</param>
    public static ChildProcess Start(ChildCommand command, DateTimeOffset now, string probeToken)
    {
        var start = new ProcessStartInfo(command.FileName) { UseShellExecute = false };
        foreach (var argument in command.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // serve stops by itself once this guard is gone (GuardWatch in TradeStore.Server): a SIGKILLed guard cannot stop it.
        start.Environment[GuardEnvironment.PidVariable] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        // The child answers the probe with its pid only to this guard (LivenessProbe): another process on the port cannot pass for it.
        start.Environment[GuardEnvironment.ProbeTokenVariable] = probeToken;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{command.FileName} did not start.");
        return new ChildProcess(process, now);
    }

    /// <summary>Sends a POSIX signal unless the process has already exited.</summary>
    public void Signal(int signal)
    {
        if (!HasExited)
        {
            PosixSignals.Send(Id, signal);
        }
    }

    public void Kill()
    {
        try
        {
            _process.Kill();
        }
        catch (InvalidOperationException)
        {
            // already exited
        }
    }

    /// <summary>"exit code 2" or "signal SIGKILL (exit code 137)".</summary>
    public static string DescribeExit(int exitCode) =>
        exitCode is > 128 and < 128 + 65
            ? $"signal {PosixSignals.Name(exitCode - 128)} (exit code {exitCode})"
            : $"exit code {exitCode}";

    /// <summary>The signal that ended the process, if the exit code says so.</summary>
    public static string? SignalOf(int exitCode) => exitCode is > 128 and < 128 + 65 ? PosixSignals.Name(exitCode - 128) : null;

    public void Dispose() => _process.Dispose();
}
