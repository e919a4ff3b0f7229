using Microsoft.Extensions.Logging;
using TradeStore.Core.Diagnostics;

namespace TradeStore.Server.Api;

/// <summary>
/// The log line of a query that ran: at information (event 1214) from <c>Security:Query:SlowQueryThreshold</c> on, else
/// at debug (event 1204). By design: every query at information (as until 2026-12-05) let an analyst running many small
/// queries flood the log, while what an operator looks for there is the query that held a CPU of the writer's machine.
/// </summary>
public sealed class QueryLog(TimeSpan slowQueryThreshold)
{
    private readonly string _threshold = Durations.Format(slowQueryThreshold);

    public void Ran(ILogger logger, string caller, int rows, long startedTimestamp)
    {
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(startedTimestamp);
        if (elapsed >= slowQueryThreshold)
        {
            Log.QueryRanSlow(logger, caller, rows, elapsed.TotalMilliseconds, _threshold);
        }
        else
        {
            Log.QueryRan(logger, caller, rows, elapsed.TotalMilliseconds);
        }
    }
}
