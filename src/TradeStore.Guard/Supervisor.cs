using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using TradeStore.Core.Diagnostics;

namespace TradeStore.Guard;

/// <summary>
/// DaemonGuard: runs the child, probes its liveness, restarts it when it exits unexpectedly or hangs (with
/// backoff), gives up after too many restarts in a window, and on SIGTERM/SIGINT/SIGHUP stops it gracefully. One loop
/// owns all state; signals only complete a task the loop waits on.
/// </summary>
public sealed class Supervisor : IDisposable
{
    /// <summary>By design a new child is probed at least this often until it first answers, so a restart is noticed quickly.</summary>
    public static readonly TimeSpan StartupProbeInterval = TimeSpan.FromMilliseconds(250);

    private readonly GuardOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly RestartPolicy _policy;
    private readonly LivenessProbe _probe;
    private readonly StatusFile? _statusFile;
    private readonly TaskCompletionSource<int> _stopRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _killRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _statusLock = new();
    private GuardStatus _status;
    private bool _statusFileFailed;
    private volatile int _childPid;

    public Supervisor(GuardOptions options, ILogger logger, TimeProvider? time = null, Random? random = null)
    {
        _options = options;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _policy = new RestartPolicy(options, _time, random ?? Random.Shared);
        _probe = new LivenessProbe(options.ProbeUrl, options.ProbeTimeout, _time, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        _statusFile = options.StatusFile is null ? null : new StatusFile(options.StatusFile);
        _status = new GuardStatus
        {
            GuardPid = Environment.ProcessId,
            MaxRestarts = options.MaxRestarts,
            RestartWindowSeconds = options.RestartWindow.TotalSeconds,
            ProbeUrl = options.ProbeUrl.ToString(),
        };
    }

    /// <summary>The latest status (also written to the status file).</summary>
    public GuardStatus Status
    {
        get
        {
            lock (_statusLock)
            {
                return _status;
            }
        }
    }

    /// <summary>
    /// Asks the guard to stop: the signal is forwarded to the child, which gets the grace period to exit.
    /// A second request kills the child at once. Safe to call from a signal handler.
    /// </summary>
    public void RequestStop(int signal)
    {
        if (!_stopRequested.TrySetResult(signal))
        {
            if (_killRequested.TrySetResult())
            {
                Log.StopEscalated(_logger, PosixSignals.Name(signal), _childPid);
            }
        }
    }

    public async Task<GuardOutcome> RunAsync(CancellationToken cancellationToken = default)
    {
        await using var registration = cancellationToken.Register(() => RequestStop(PosixSignals.SigTerm));
        Log.GuardStarting(_logger, Environment.ProcessId, _options.Command.ToString(), _options.ProbeUrl, F(_options.ProbeInterval), F(_options.ProbeTimeout),
            _options.ProbeFailures, F(_options.BackoffMin), F(_options.BackoffMax), _options.MaxRestarts, F(_options.RestartWindow), _statusFile?.Path ?? "(none)");
        if (_options.MaxRestarts > 0 && _policy.ShortestBackoffToLimit >= _options.RestartWindow)
        {
            Log.LimitUnreachable(_logger, _options.MaxRestarts, F(_policy.ShortestBackoffToLimit), F(_options.RestartWindow));
        }

        var outcome = await SuperviseAsync().ConfigureAwait(false);
        Update(s => s with
        {
            State = outcome == GuardOutcome.GaveUp ? GuardStates.GaveUp : GuardStates.Stopped,
            ChildPid = null,
            NextStartAt = null,
        });
        Log.GuardStopped(_logger, outcome switch
        {
            GuardOutcome.Stopped => "the child stopped gracefully",
            GuardOutcome.StoppedWhileWaiting => "stopped while waiting to restart the child; no child was running",
            GuardOutcome.StoppedForcefully => "the child had to be killed",
            GuardOutcome.StoppedWithError => "the child exited with a failure code while stopping",
            GuardOutcome.ChildExitedCleanly => "the child exited with code 0 on its own",
            GuardOutcome.ChildConfigurationError => "the child refused its configuration (exit 2); not restarted",
            GuardOutcome.ChildIntegrityRefusal => "the child refused to start on a journal it cannot trust (exit 5); not restarted",
            _ => "gave up after too many restarts",
        });
        return outcome;
    }

    private async Task<GuardOutcome> SuperviseAsync()
    {
        var starts = 0;
        while (true)
        {
            if (_stopRequested.Task.IsCompleted)
            {
                // Between a child's exit and its restart: there was no child to stop.
                return GuardOutcome.StoppedWhileWaiting;
            }

            starts++;
            var (exit, end) = await RunChildAsync(starts).ConfigureAwait(false);
            if (end is { } outcome)
            {
                return outcome;
            }

            var decision = _policy.NextRestart();
            if (!decision.Restart)
            {
                Log.GivingUp(_logger, _options.MaxRestarts, F(_options.RestartWindow), DescribeLastExit(exit), GuardExitCodes.GaveUp);
                Update(s => s);
                return GuardOutcome.GaveUp;
            }

            Log.RestartScheduled(_logger, F(decision.Delay), decision.Restarts, decision.InWindow, _options.MaxRestarts, F(_options.RestartWindow));
            Update(s => s with
            {
                State = GuardStates.BackingOff,
                Restarts = decision.Restarts,
                RestartsInWindow = decision.InWindow,
                NextStartAt = _time.GetUtcNow() + decision.Delay,
            });
            using var backoff = new CancellationTokenSource();
            var delay = Task.Delay(decision.Delay, _time, backoff.Token);
            if (await Task.WhenAny(delay, _stopRequested.Task).ConfigureAwait(false) == _stopRequested.Task)
            {
                await backoff.CancelAsync().ConfigureAwait(false);
                return GuardOutcome.StoppedWhileWaiting;
            }
        }
    }

    /// <summary>Starts one child and watches it to its end; returns how it ended, and the guard's outcome when the guard must stop.</summary>
    private async Task<(ChildExit Exit, GuardOutcome? End)> RunChildAsync(int start)
    {
        ChildProcess child;
        try
        {
            child = ChildProcess.Start(_options.Command, _time.GetUtcNow(), _probe.Token);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            Log.StartFailed(_logger, _options.Command.ToString(), ex.Message);
            return (new ChildExit(0, _time.GetUtcNow(), -1, null, ExitReasons.StartFailed, 0), null);
        }

        using (child)
        {
            _childPid = child.Id;
            _policy.ChildStarted();
            Update(s => s with { State = GuardStates.Starting, ChildPid = child.Id, ChildStartedAt = child.StartedAt, NextStartAt = null, ConsecutiveProbeFailures = 0 });
            Log.ChildStarted(_logger, child.Id, start, _policy.Restarts);

            var (reason, forced) = await MonitorAsync(child).ConfigureAwait(false);
            var uptime = _time.GetUtcNow() - child.StartedAt;
            var exit = new ChildExit(child.Id, _time.GetUtcNow(), child.ExitCode, ChildProcess.SignalOf(child.ExitCode), reason, Math.Round(uptime.TotalSeconds, 3));
            if (reason == ExitReasons.Stopped)
            {
                Log.ChildStopped(_logger, child.Id, ChildProcess.DescribeExit(child.ExitCode), F(uptime));
            }
            else
            {
                Log.ChildExited(_logger, child.Id, ChildProcess.DescribeExit(child.ExitCode), F(uptime), reason);
            }

            var refused = reason == ExitReasons.Exited && child.ExitCode is GuardExitCodes.ChildConfigurationError or GuardExitCodes.ChildIntegrityRefusal;
            var goingOn = reason != ExitReasons.Stopped && !(reason == ExitReasons.Exited && child.ExitCode == 0) && !refused;
            Update(s => s with { LastExit = exit, ChildPid = null, State = goingOn ? GuardStates.BackingOff : GuardStates.Stopping });

            if (reason == ExitReasons.Stopped)
            {
                // Dying of the very signal that was forwarded (before the host installed its handler) is a clean stop too.
                var clean = child.ExitCode == 0 || child.ExitCode == 128 + _stopRequested.Task.Result;
                return (exit, forced ? GuardOutcome.StoppedForcefully : clean ? GuardOutcome.Stopped : GuardOutcome.StoppedWithError);
            }

            if (reason == ExitReasons.Exited && child.ExitCode == 0)
            {
                // By design like systemd's Restart=on-failure: exit code 0 means someone stopped the child on purpose
                // (a SIGTERM sent to it directly, or Ctrl-C reaching the whole process group), so the guard follows.
                Log.ChildExitedCleanly(_logger, child.Id);
                return (exit, GuardOutcome.ChildExitedCleanly);
            }

            if (refused && child.ExitCode == GuardExitCodes.ChildConfigurationError)
            {
                // By design like systemd's RestartPreventExitStatus=2: a bad configuration does not heal by restarting.
                Log.ChildRefusedConfiguration(_logger, child.Id, GuardExitCodes.ChildConfigurationError);
                return (exit, GuardOutcome.ChildConfigurationError);
            }

            if (refused)
            {
                // Nor does a journal the start-up check cannot trust: that start changed nothing, so every restart met the
                // same refusal (re-reading the whole book each time), and a start slower than the restart window never
                // reached the limit at all, a loop without end.
                Log.ChildRefusedIntegrity(_logger, child.Id, GuardExitCodes.ChildIntegrityRefusal);
                return (exit, GuardOutcome.ChildIntegrityRefusal);
            }

            return (exit, null);
        }
    }

    private static string DescribeLastExit(ChildExit exit) =>
        exit.Reason == ExitReasons.StartFailed ? "the child could not be started" : $"{ChildProcess.DescribeExit(exit.ExitCode)}, {exit.Reason}";

    /// <summary>Watches one child until it ends; returns why, and whether it had to be killed.</summary>
    private async Task<(string Reason, bool Forced)> MonitorAsync(ChildProcess child)
    {
        var answered = false;
        var failures = 0;
        using var stopWaiting = new CancellationTokenSource();
        try
        {
            while (true)
            {
                var interval = answered ? _options.ProbeInterval : Min(_options.ProbeInterval, StartupProbeInterval);
                var tick = Task.Delay(interval, _time, stopWaiting.Token);
                var woke = await Task.WhenAny(child.Exited, _stopRequested.Task, tick).ConfigureAwait(false);
                if (woke == child.Exited)
                {
                    return (ExitReasons.Exited, false);
                }

                if (woke == _stopRequested.Task)
                {
                    var signal = await _stopRequested.Task.ConfigureAwait(false);
                    Log.StopRequested(_logger, PosixSignals.Name(signal), child.Id, F(_options.GracePeriod));
                    return (ExitReasons.Stopped, await StopChildAsync(child, signal).ConfigureAwait(false));
                }

                using var probeCancel = new CancellationTokenSource();
                var probe = _probe.ProbeAsync(child.Id, probeCancel.Token);
                woke = await Task.WhenAny(probe, child.Exited, _stopRequested.Task).ConfigureAwait(false);
                if (woke != probe)
                {
                    await probeCancel.CancelAsync().ConfigureAwait(false);
                    await ((Task)probe).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    continue; // the top of the loop sees the exit or the stop request
                }

                var result = await probe.ConfigureAwait(false);
                var probeStatus = new ProbeStatus(result.At, result.Ok, result.Detail, Math.Round(result.Duration.TotalMilliseconds, 2));
                if (result.Ok)
                {
                    if (!answered)
                    {
                        answered = true;
                        Log.ChildAnswering(_logger, child.Id, _options.ProbeUrl, F(_time.GetUtcNow() - child.StartedAt));
                    }
                    else if (failures > 0)
                    {
                        Log.ProbeRecovered(_logger, child.Id, failures);
                    }

                    failures = 0;
                    if (_policy.ProbeSucceeded() is { } healthyFor)
                    {
                        Log.BackoffReset(_logger, child.Id, F(healthyFor), F(_options.BackoffMin));
                    }

                    Update(s => s with { State = GuardStates.Running, LastProbe = probeStatus, ConsecutiveProbeFailures = 0 });
                    continue;
                }

                if (child.HasExited)
                {
                    continue; // a refused probe of a process that just died says nothing new
                }

                _policy.ProbeFailed();
                if (!answered)
                {
                    Log.ProbeNotYetAnswering(_logger, child.Id, result.Detail);
                    Update(s => s with { LastProbe = probeStatus });
                    if (_time.GetUtcNow() - child.StartedAt >= _options.StartupTimeout)
                    {
                        Log.StartupTimedOut(_logger, child.Id, _options.ProbeUrl, F(_options.StartupTimeout));
                        await StopChildAsync(child, PosixSignals.SigTerm).ConfigureAwait(false);
                        return (ExitReasons.StartupTimeout, false);
                    }

                    continue;
                }

                failures++;
                Log.ProbeFailed(_logger, child.Id, failures, _options.ProbeFailures, result.Detail);
                Update(s => s with { LastProbe = probeStatus, ConsecutiveProbeFailures = failures });
                if (failures >= _options.ProbeFailures)
                {
                    Log.ChildHung(_logger, child.Id, failures);
                    await StopChildAsync(child, PosixSignals.SigTerm).ConfigureAwait(false);
                    return (ExitReasons.Hung, false);
                }
            }
        }
        finally
        {
            await stopWaiting.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Sends <paramref name="signal"/> (and SIGCONT, so a stopped process can act on it), waits the grace period, then SIGKILL. True when killed.</summary>
    private async Task<bool> StopChildAsync(ChildProcess child, int signal)
    {
        Update(s => s with { State = GuardStates.Stopping });
        child.Signal(signal);
        // Like systemd: a process stopped with SIGSTOP would never handle the signal otherwise.
        child.Signal(PosixSignals.SigCont);

        using var graceCancel = new CancellationTokenSource();
        var grace = Task.Delay(_options.GracePeriod, _time, graceCancel.Token);
        var woke = await Task.WhenAny(child.Exited, grace, _killRequested.Task).ConfigureAwait(false);
        await graceCancel.CancelAsync().ConfigureAwait(false);
        if (woke == child.Exited)
        {
            return false;
        }

        if (woke == grace)
        {
            Log.KillingChild(_logger, child.Id, F(_options.GracePeriod), PosixSignals.Name(signal));
        }

        child.Kill();
        await child.Exited.ConfigureAwait(false);
        return true;
    }

    private static string F(TimeSpan value) => Durations.Format(value);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private void Update(Func<GuardStatus, GuardStatus> change)
    {
        GuardStatus status;
        lock (_statusLock)
        {
            _status = status = change(_status) with { RestartsInWindow = _policy.RestartsInWindow, UpdatedAt = _time.GetUtcNow() };
        }

        if (_statusFile is null)
        {
            return;
        }

        try
        {
            _statusFile.Write(status);
            _statusFileFailed = false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            if (!_statusFileFailed)
            {
                _statusFileFailed = true;
                Log.StatusFileFailed(_logger, _statusFile.Path, ex.Message);
            }
        }
    }

    public void Dispose() => _probe.Dispose();
}

/// <summary>How the guard ended.</summary>
public enum GuardOutcome
{
    /// <summary>Stopped on request; the child exited within the grace period.</summary>
    Stopped,

    /// <summary>Stopped on request while waiting to restart the child (backing off): no child was running.</summary>
    StoppedWhileWaiting,

    /// <summary>Stopped on request; the child had to be killed.</summary>
    StoppedForcefully,

    /// <summary>Stopped on request; the child exited within the grace period but with a failure code.</summary>
    StoppedWithError,

    /// <summary>The child exited with code 0 by itself, so the guard stopped too.</summary>
    ChildExitedCleanly,

    /// <summary>More than MaxR restarts within MaxT.</summary>
    GaveUp,

    /// <summary>The child exited with <see cref="GuardExitCodes.ChildConfigurationError"/> (bad command line or configuration): not restarted, the guard exits with the same code.</summary>
    ChildConfigurationError,

    /// <summary>The child exited with <see cref="GuardExitCodes.ChildIntegrityRefusal"/> (a journal it cannot trust): not restarted, the guard exits with the same code.</summary>
    ChildIntegrityRefusal,
}

/// <summary>Values of <see cref="ChildExit.Reason"/>.</summary>
public static class ExitReasons
{
    public const string Exited = "exited";
    public const string Hung = "hung";
    public const string StartupTimeout = "startup_timeout";
    public const string Stopped = "stopped";
    public const string StartFailed = "start_failed";
}

/// <summary>The guard's own exit code for giving up; mirrored in the CLI's <c>ExitCodes</c>.</summary>
public static class GuardExitCodes
{
    public const int GaveUp = 10;

    /// <summary>
    /// The child's exit code for a bad command line or configuration (the CLI's <c>ExitCodes.BadInput</c>). Restarting
    /// cannot heal it, so the guard stops at once and exits with this code too.
    /// </summary>
    public const int ChildConfigurationError = 2;

    /// <summary>
    /// The child's exit code for refusing to start on a journal it cannot trust (the CLI's <c>ExitCodes.IntegrityFailed</c>:
    /// a damaged journal log, a gap, state that disagrees, Redis or ClickHouse ahead of the journal). That start changed
    /// nothing, so the next one meets the same refusal until an operator recovers: the guard stops at once and exits with
    /// this code too.
    /// </summary>
    public const int ChildIntegrityRefusal = 5;
}
