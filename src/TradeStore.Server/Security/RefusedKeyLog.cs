using Microsoft.Extensions.Logging;
using TradeStore.Core.Diagnostics;

namespace TradeStore.Server.Security;

/// <summary>
/// The log of refused API keys (one per host), paced per remote address: the first refusal of a run from an address is
/// event 1202 with method, path and address; further ones from it are paced (<see cref="RepeatPacer"/>): event 1213 at
/// the 2nd, 4th, 8th, … refusal and then once a minute, with the count, how long the run has lasted and the last
/// request's method and path. A run ends after a minute without a refusal from its address. Never the key itself.
/// </summary>
/// <remarks>
/// <para>By design: until 2026-12-05 each refusal was a line, so a client sending a wrong key 100 times a second (or anyone
/// who can reach the port, before any rate limit) wrote 5,900 lines (880 KB) of log a minute.</para>
/// <para>Per address, because one pace for the whole host let a busy source hide a second: while a misconfigured client
/// was refused 100 times a second, a probe from another address fell between two paced lines and was never named. At
/// most <see cref="MaxSources"/> addresses are paced apart at once (those refused within the last minute); refusals from
/// further ones share one pace, so many addresses cannot make many lines.</para>
/// </remarks>
public sealed class RefusedKeyLog(TimeProvider? time = null)
{
    /// <summary>Addresses paced apart at once; past that, further addresses share one pace.</summary>
    public const int MaxSources = 64;

    private readonly TimeProvider? _time = time;
    private readonly Dictionary<string, RepeatPacer> _sources = new(StringComparer.Ordinal);
    private readonly RepeatPacer _others = new(time);
    private readonly Lock _lock = new();

    public void Refused(ILogger logger, string method, string path, string remoteAddress)
    {
        RepeatPacer.Occurrence refusal;
        lock (_lock)
        {
            // Recorded under the lock, so that a new address's pacer is never dropped as quiet before its first refusal.
            refusal = PacerOf(remoteAddress).Record();
        }

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

    /// <summary>The pace of <paramref name="remoteAddress"/>'s refusals: its own, or the shared one when <see cref="MaxSources"/> others are in a run.</summary>
    private RepeatPacer PacerOf(string remoteAddress)
    {
        if (_sources.TryGetValue(remoteAddress, out var pacer))
        {
            return pacer;
        }

        if (_sources.Count >= MaxSources)
        {
            // Forget the addresses whose run has ended: a refusal from one of them starts a new run.
            foreach (var address in _sources.Where(s => s.Value.IsQuiet).Select(s => s.Key).ToList())
            {
                _sources.Remove(address);
            }

            if (_sources.Count >= MaxSources)
            {
                return _others;
            }
        }

        pacer = new RepeatPacer(_time);
        _sources.Add(remoteAddress, pacer);
        return pacer;
    }
}
