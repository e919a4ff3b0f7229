using Microsoft.Extensions.Logging;

namespace TradeStore.Cluster;

/// <summary>
/// The pace and the log of one loop's retries of a failing etcd request: the first retry after
/// <see cref="FirstDelay"/>, each further one after twice the last, at most <see cref="MaxDelay"/>, until a request
/// succeeds (<see cref="Succeeded"/>). By design it never gives up (an etcd failure never ends a session) and the log
/// stays readable while etcd is away: every failure is a warning, but only the first of a run carries the stack trace;
/// the later ones carry it at debug.
/// </summary>
internal sealed class EtcdRetry(ILogger logger, string operation)
{
    public static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(200);

    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(2);

    private TimeSpan _next = FirstDelay;
    private int _failures;

    /// <summary>Failures since the last success.</summary>
    public int Failures => _failures;

    /// <summary>Logs <paramref name="exception"/> and returns how long to wait before the next attempt.</summary>
    public TimeSpan Failed(Exception exception)
    {
        var delay = _next;
        _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, MaxDelay.Ticks));
        if (++_failures == 1)
        {
            Log.EtcdFailed(logger, exception, operation, delay);
        }
        else
        {
            Log.EtcdStillFailing(logger, operation, _failures, exception.GetType().Name, exception.Message, delay);
            Log.EtcdFailureDetail(logger, exception, operation);
        }

        return delay;
    }

    /// <summary>A request succeeded: the next failure starts a new run.</summary>
    public void Succeeded()
    {
        _next = FirstDelay;
        _failures = 0;
    }
}
