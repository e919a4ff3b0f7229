using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TradeStore.Core.Lifetime;

namespace TradeStore.Server.Lifetime;

/// <summary>
/// Stops <c>serve</c> gracefully when the <c>tradestore guard</c> that started it is gone (SIGKILLed, or crashed). The guard
/// names itself in <see cref="GuardEnvironment.PidVariable"/>; a guard killed with SIGKILL cannot stop its child, so the child used to
/// keep serving unsupervised and holding the database: a new guard on the same directory then restarted its own child into
/// "locked" (exit 3) until it gave up with exit 10, and under systemd (<c>KillMode=mixed</c>) the orphan was SIGKILLed only
/// after <c>TimeoutStopSec</c>. Stopping here runs the ordinary shutdown (drain, checkpoint, sinks flushed, exit 0), so the
/// database is free for whatever supervisor comes next.
/// </summary>
/// <remarks>
/// By design the parent pid is compared, not the guard's liveness: once the guard has died the kernel re-parents this
/// process (to init or a sub-reaper), so the parent pid changes for good, even if the guard's pid is later reused.
/// </remarks>
internal sealed class GuardWatch(int guardPid, IHostApplicationLifetime lifetime, ILogger<GuardWatch> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The guard's pid from the environment, when this process was started by a guard on Linux (where the parent pid can be
    /// read). A guard that is pid 1 (the container image's entrypoint) is not watched: an orphan is re-parented to pid 1,
    /// so the comparison could not tell, and the container ends with its pid 1 anyway.
    /// </summary>
    public static int? GuardPidFromEnvironment() =>
        int.TryParse(Environment.GetEnvironmentVariable(GuardEnvironment.PidVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
        && pid > 1 && ParentPid() is not null
            ? pid
            : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        do
        {
            var parent = ParentPid();
            if (parent is { } current && current != guardPid)
            {
                Log.GuardGone(logger, guardPid, current);
                lifetime.StopApplication();
                return;
            }
        }
        while (await WaitAsync(timer, stoppingToken).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>The parent pid from <c>/proc/self/stat</c> (the field after the state, which follows the last ')' of the command name); null where there is no procfs.</summary>
    private static int? ParentPid()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ppid) ? ppid : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
