using Microsoft.Extensions.Logging;
using TradeStore.Core.Diagnostics;

namespace TradeStore.Cluster;

/// <summary>
/// The pace and the log of one loop's retries of a failing etcd request: the first retry after
/// <see cref="FirstDelay"/>, each further one after twice the last, at most <see cref="MaxDelay"/>, until a request
/// succeeds (<see cref="Succeeded"/>). By design it never gives up (an etcd failure never ends a session) and the log
/// stays readable while etcd is away: the first failure of a run is a warning with the stack trace (event 7007, or the
/// loop's own event given as <c>logFirst</c>); later ones are paced by a <see cref="RepeatPacer"/> (event 7017 at the 2nd,
/// 4th, 8th, … failure, then once a minute; each failure's stack at debug, 7018), and the first success after a run says
/// so (event 7031: how many failures, how long). Until 2026-12-05 every failure was a line, and the lease renewals'
/// each with its stack: etcd away for two minutes wrote 140–190 lines (about 300 KB) a minute per node.
/// </summary>
internal sealed class EtcdRetry(ILogger logger, string operation, TimeProvider? time = null, Action<Exception>? logFirst = null)
{
    public static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(200);

    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(2);

    private readonly RepeatPacer _pacer = new(time);
    private TimeSpan _next = FirstDelay;

    /// <summary>Logs <paramref name="exception"/> (paced) and returns how long to wait before the next attempt.</summary>
    public TimeSpan Failed(Exception exception)
    {
        var delay = _next;
        _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, MaxDelay.Ticks));
        Report(exception, delay);
        return delay;
    }

    /// <summary>Logs a failure of a loop that keeps its own pace (<paramref name="delay"/> until it tries again).</summary>
    public void Report(Exception exception, TimeSpan delay)
    {
        var failure = _pacer.Record();
        if (failure.First)
        {
            if (logFirst is null)
            {
                Log.EtcdFailed(logger, exception, operation, delay);
            }
            else
            {
                logFirst(exception);
            }

            return;
        }

        if (failure.Log)
        {
            Log.EtcdStillFailing(logger, operation, failure.Count, failure.Lasting, exception.GetType().Name, exception.Message, delay);
        }

        Log.EtcdFailureDetail(logger, exception, operation);
    }

    /// <summary>A request succeeded: logs the end of a run of failures, if there was one; the next failure starts a new run.</summary>
    public void Succeeded()
    {
        _next = FirstDelay;
        if (_pacer.End() is { } run)
        {
            Log.EtcdAnswersAgain(logger, operation, run.Count, run.Lasted);
        }
    }
}
