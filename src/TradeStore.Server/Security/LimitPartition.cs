using System.Net;
using Microsoft.AspNetCore.Http;

namespace TradeStore.Server.Security;

/// <summary>
/// Whose requests share a rate and concurrency limit: an authenticated key's (by name), otherwise the remote address's
/// (authentication off, or a refused key). A value made without allocating, compared by value.
/// </summary>
/// <param name="Unlimited">The partition of requests that are never limited (health probes); no key name can stand for it.</param>
public readonly record struct LimitPartition(string? KeyName, IPAddress? Address, bool Unlimited = false)
{
    /// <summary>The partition of requests that are never limited (health probes).</summary>
    public static LimitPartition Exempt { get; } = new(null, null, Unlimited: true);

    public static LimitPartition Of(HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, AuthenticationType: ApiKeyAuthenticationHandler.SchemeName, Name: { } name }
            ? new LimitPartition(name, null)
            : new LimitPartition(null, context.Connection.RemoteIpAddress);
}
