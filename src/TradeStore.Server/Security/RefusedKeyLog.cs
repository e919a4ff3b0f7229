using Microsoft.Extensions.Logging;
using TradeStore.Core.Diagnostics;

namespace TradeStore.Server.Security;

/// <summary>
/// The log of refused API keys (one per host): the first refusal of a run is event 1202 with method, path and remote
/// address; further ones are paced (<see cref="RepeatPacer"/>): event 1213 at the 2nd, 4th, 8th, … refusal and then once
/// a minute, with the count, how long the run has lasted and the last request's method, path and address. A run ends
/// after a minute without a refusal. Never the key itself.
/// </summary>
/// <remarks>
/// By design: until 2026-12-05 each refusal was a line, so a client sending a wrong key 100 times a second (or anyone
/// who can reach the port, before any rate limit) wrote 5,900 lines (880 KB) of log a minute.
/// </remarks>
public sealed class RefusedKeyLog(TimeProvider? time = null)
{
    private readonly RepeatPacer _pacer = new(time);

    public void Refused(ILogger logger, string method, string path, string remoteAddress)
    {
        var refusal = _pacer.Record();
        if (!refusal.Log)
        {
            return;
        }

        if (refusal.First)
        {
            Log.ApiKeyRefused(logger, method, path, remoteAddress);
        }
        else
        {
            Log.ApiKeysStillRefused(logger, refusal.Count, refusal.Lasting.TotalSeconds, method, path, remoteAddress);
        }
    }
}
