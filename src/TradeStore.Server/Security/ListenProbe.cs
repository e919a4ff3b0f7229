using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;

namespace TradeStore.Server.Security;

/// <summary>
/// Finds a <c>Server:Urls</c> address another process listens on before the host starts. Kestrel binds last, after
/// every hosted service has started, so a second instance on a taken port first loaded its whole state index (half a
/// minute at 10,000,000 trades), then logged the host's start failure with a page of stack trace, and only then said
/// what was wrong.
/// </summary>
/// <remarks>
/// By design a probe, not a reservation: the address is bound and released at once, as Kestrel binds it (.NET sets
/// <c>SO_REUSEADDR</c> on Linux, so a port held only by connections of a stopped instance still counts as free). A
/// process that takes the address between the probe and Kestrel is still reported, after the start, by
/// <see cref="BoundAddresses"/>. Only addresses whose socket is known are probed: an IP literal, <c>localhost</c>
/// (127.0.0.1), <c>*</c>, <c>+</c> and host names Kestrel binds to every interface; port 0 and Unix sockets are not.
/// Any error but "in use" is left to Kestrel, which reports it with its own words.
/// </remarks>
public static class ListenProbe
{
    /// <summary>The first of the semicolon-separated <paramref name="urls"/> whose address another process listens on.</summary>
    public static (string Url, SocketException Cause)? FirstInUse(string urls)
    {
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (EndPointOf(url) is { } endPoint && InUse(endPoint) is { } cause)
            {
                return (url, cause);
            }
        }

        return null;
    }

    private static IPEndPoint? EndPointOf(string url)
    {
        BindingAddress binding;
        try
        {
            binding = BindingAddress.Parse(url);
        }
        catch (FormatException)
        {
            return null; // Kestrel refuses it with its own message
        }

        if (binding.IsUnixPipe || binding.IsNamedPipe || binding.Port == 0)
        {
            return null;
        }

        var host = binding.Host.Trim('[', ']');
        var address = host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
            : IPAddress.TryParse(host, out var literal) ? literal
            : IPAddress.Any; // "*", "+" or a host name: Kestrel listens on every interface
        return new IPEndPoint(address, binding.Port);
    }

    private static SocketException? InUse(IPEndPoint endPoint)
    {
        try
        {
            using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(endPoint);
            return null;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return ex;
        }
        catch (SocketException)
        {
            return null;
        }
    }
}
