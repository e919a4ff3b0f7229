using System.Net;
using Microsoft.AspNetCore.Http;

namespace TradeStore.Server.Security;

/// <summary>Whether a caller or a listen address is on this machine.</summary>
public static class Loopback
{
    /// <summary>
    /// The headers a reverse proxy adds naming the client it forwards for. A request that carries one came through a
    /// proxy, whose own connection is from loopback when it runs on this machine: its callers are anywhere.
    /// </summary>
    public static readonly IReadOnlyList<string> ForwardingHeaders = ["Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP"];

    /// <summary>
    /// By design a request without a remote address (an in-memory test server, a Unix socket) is NOT loopback:
    /// unknown origin fails closed. Forwarded headers never make a caller loopback, and one that carries any of
    /// <see cref="ForwardingHeaders"/> is NOT loopback, whatever its connection: a proxy on this machine (nginx,
    /// Caddy, a sidecar) relays callers from anywhere, which must not get what a local caller gets.
    /// </summary>
    public static bool IsCaller(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } address
        && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address)
        && ForwardedBy(context) is null;

    /// <summary>The first of <see cref="ForwardingHeaders"/> the request carries, or <see langword="null"/>.</summary>
    public static string? ForwardedBy(HttpContext context) =>
        ForwardingHeaders.FirstOrDefault(name => context.Request.Headers.ContainsKey(name));

    /// <summary>Whether a <c>Server:Urls</c> entry listens on loopback only (<c>localhost</c>, 127.0.0.0/8, ::1).</summary>
    public static bool IsListenAddress(string url)
    {
        var start = url.IndexOf("://", StringComparison.Ordinal);
        var host = start < 0 ? url : url[(start + 3)..];
        var end = host.StartsWith('[') ? host.IndexOf(']') + 1 : host.IndexOfAny([':', '/']);
        host = end > 0 ? host[..end] : host;
        host = host.Trim('[', ']');
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }
}
