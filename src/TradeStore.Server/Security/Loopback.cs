using System.Net;
using Microsoft.AspNetCore.Http;

namespace TradeStore.Server.Security;

/// <summary>Whether a caller or a listen address is on this machine.</summary>
public static class Loopback
{
    /// <summary>
    /// By design a request without a remote address (an in-memory test server, a Unix socket) is NOT loopback:
    /// unknown origin fails closed. Forwarded headers are never consulted.
    /// </summary>
    public static bool IsCaller(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } address
        && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

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
