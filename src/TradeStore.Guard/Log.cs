using Microsoft.Extensions.Logging;

namespace TradeStore.Guard;

/// <summary>Log messages of the guard. Event ids are stable (5000-5099): alerts and dashboards key on them, so never renumber.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 5000, Level = LogLevel.Information, Message = "Guard {GuardPid} supervising `{Command}`; probing {ProbeUrl} every {ProbeInterval} (timeout {ProbeTimeout}, hang after {ProbeFailures} failures); restarts back off {BackoffMin}..{BackoffMax}, give up after {MaxRestarts} restarts within {RestartWindow}; status file {StatusFile}")]
    public static partial void GuardStarting(ILogger logger, int guardPid, string command, Uri probeUrl, string probeInterval, string probeTimeout,
        int probeFailures, string backoffMin, string backoffMax, int maxRestarts, string restartWindow, string statusFile);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Child started: pid {ChildPid} (start {Start}, restarts so far {Restarts})")]
    public static partial void ChildStarted(ILogger logger, int childPid, int start, int restarts);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Child pid {ChildPid} exited with {Exit} after {Uptime} ({Reason})")]
    public static partial void ChildExited(ILogger logger, int childPid, string exit, string uptime, string reason);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Child pid {ChildPid} answers {ProbeUrl} after {StartupTime}")]
    public static partial void ChildAnswering(ILogger logger, int childPid, Uri probeUrl, string startupTime);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Liveness probe of pid {ChildPid} failed ({Failures} of {Threshold} in a row): {Detail}")]
    public static partial void ProbeFailed(ILogger logger, int childPid, int failures, int threshold, string detail);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Liveness probe of pid {ChildPid} answers again after {Failures} failure(s)")]
    public static partial void ProbeRecovered(ILogger logger, int childPid, int failures);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Error, Message = "Child pid {ChildPid} is hung: {Failures} liveness probes failed in a row; stopping it to restart")]
    public static partial void ChildHung(ILogger logger, int childPid, int failures);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Error, Message = "Child pid {ChildPid} did not answer {ProbeUrl} within the start-up timeout {StartupTimeout}; stopping it to restart. Start-up time grows with the book (the child's event 2000 says how long loading took): if it was still loading, raise --startup-timeout, or it never gets to serve")]
    public static partial void StartupTimedOut(ILogger logger, int childPid, Uri probeUrl, string startupTimeout);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Warning, Message = "Restarting the child in {Delay} (restart {Restart}; {InWindow} of at most {MaxRestarts} within {RestartWindow})")]
    public static partial void RestartScheduled(ILogger logger, string delay, int restart, int inWindow, int maxRestarts, string restartWindow);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Information, Message = "Child pid {ChildPid} healthy for {HealthyFor}: restart backoff reset to {BackoffMin}")]
    public static partial void BackoffReset(ILogger logger, int childPid, string healthyFor, string backoffMin);

    [LoggerMessage(EventId = 5010, Level = LogLevel.Critical, Message = "Giving up: the child needed more than {MaxRestarts} restarts within {RestartWindow} (last exit: {LastExit}); the guard exits with code {ExitCode} so the service manager can escalate")]
    public static partial void GivingUp(ILogger logger, int maxRestarts, string restartWindow, string lastExit, int exitCode);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Information, Message = "Received {Signal}: stopping child pid {ChildPid} gracefully (SIGKILL after {GracePeriod})")]
    public static partial void StopRequested(ILogger logger, string signal, int childPid, string gracePeriod);

    [LoggerMessage(EventId = 5012, Level = LogLevel.Error, Message = "Child pid {ChildPid} did not exit within {GracePeriod} of {Signal}; sending SIGKILL")]
    public static partial void KillingChild(ILogger logger, int childPid, string gracePeriod, string signal);

    [LoggerMessage(EventId = 5013, Level = LogLevel.Information, Message = "Guard stopped: {Outcome}")]
    public static partial void GuardStopped(ILogger logger, string outcome);

    [LoggerMessage(EventId = 5014, Level = LogLevel.Warning, Message = "Cannot write the status file {StatusFile}: {Error}")]
    public static partial void StatusFileFailed(ILogger logger, string statusFile, string error);

    [LoggerMessage(EventId = 5015, Level = LogLevel.Warning, Message = "With these settings a crash loop may never reach the restart limit: {MaxRestarts} restarts with backoff alone take {BackoffTotal}, longer than the window {RestartWindow}")]
    public static partial void LimitUnreachable(ILogger logger, int maxRestarts, string backoffTotal, string restartWindow);

    [LoggerMessage(EventId = 5016, Level = LogLevel.Error, Message = "Cannot start the child `{Command}`: {Error}")]
    public static partial void StartFailed(ILogger logger, string command, string error);

    [LoggerMessage(EventId = 5017, Level = LogLevel.Information, Message = "Child pid {ChildPid} exited with code 0 on its own (it was stopped directly); the guard stops too")]
    public static partial void ChildExitedCleanly(ILogger logger, int childPid);

    [LoggerMessage(EventId = 5018, Level = LogLevel.Warning, Message = "Received {Signal} again: killing child pid {ChildPid} now")]
    public static partial void StopEscalated(ILogger logger, string signal, int childPid);

    [LoggerMessage(EventId = 5020, Level = LogLevel.Information, Message = "Child pid {ChildPid} stopped with {Exit} after {Uptime}")]
    public static partial void ChildStopped(ILogger logger, int childPid, string exit, string uptime);

    [LoggerMessage(EventId = 5019, Level = LogLevel.Debug, Message = "Child pid {ChildPid} not answering yet: {Detail}")]
    public static partial void ProbeNotYetAnswering(ILogger logger, int childPid, string detail);

    [LoggerMessage(EventId = 5021, Level = LogLevel.Critical, Message = "Child pid {ChildPid} exited with code {ExitCode}: its command line or configuration is invalid (see its message above). Restarting cannot fix that, so the guard exits with code {ExitCode} too; correct the configuration and start again")]
    public static partial void ChildRefusedConfiguration(ILogger logger, int childPid, int exitCode);

    [LoggerMessage(EventId = 5022, Level = LogLevel.Critical, Message = "Child pid {ChildPid} exited with code {ExitCode}: it refuses to start on a journal it cannot trust and changed nothing (see its message above, which names the recover command). Restarting meets the same refusal, so the guard exits with code {ExitCode} too; recover as the message says and start again")]
    public static partial void ChildRefusedIntegrity(ILogger logger, int childPid, int exitCode);
}
