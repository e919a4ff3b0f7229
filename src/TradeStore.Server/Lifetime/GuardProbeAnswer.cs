using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using TradeStore.Core.Lifetime;

namespace TradeStore.Server.Lifetime;

/// <summary>
/// Answers the liveness probe of the <c>tradestore guard</c> that started this process with this process' pid, so the
/// guard can tell its child from another process that holds the port (<see cref="GuardEnvironment.ProbeTokenVariable"/>).
/// Only a request that carries the guard's secret learns the pid.
/// </summary>
internal static class GuardProbeAnswer
{
    private static readonly byte[]? Token = Environment.GetEnvironmentVariable(GuardEnvironment.ProbeTokenVariable) is { Length: > 0 } token
        ? Encoding.UTF8.GetBytes(token)
        : null;

    private static readonly string Pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

    /// <summary>Adds <see cref="GuardEnvironment.PidHeader"/> to the answer when the request is this process' guard's probe.</summary>
    public static void Stamp(HttpContext context)
    {
        if (Token is not null
            && context.Request.Headers.TryGetValue(GuardEnvironment.ProbeHeader, out var sent)
            && sent.Count == 1
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(sent[0] ?? string.Empty), Token))
        {
            context.Response.Headers[GuardEnvironment.PidHeader] = Pid;
        }
    }
}
