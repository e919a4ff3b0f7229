using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace TradeStore.TestSupport;

/// <summary>
/// Finds a loopback TCP port that nothing listens on right now, for a child server to bind a moment later.
/// </summary>
/// <remarks>
/// By design not a port the kernel picks for <c>bind(0)</c>: those come from the ephemeral range, from which every
/// outgoing connection of the test run (to Redis, ClickHouse, etcd, the nodes) also takes its local port, so one of
/// them could take the port before the server binds it. A node whose port was taken exits at start, while a test that
/// only waited for "something answers there" went on talking to the wrong process. The ports here come from below the
/// ephemeral range, where only listeners live, and none is handed out twice by one test process.
/// </remarks>
public static class FreePort
{
    private const int Lowest = 10_000;
    private static readonly HashSet<int> HandedOut = [];
    private static readonly Lock Gate = new();
    private static readonly int EphemeralLow = ReadEphemeralLow();

    public static int Next()
    {
        for (var attempt = 0; attempt < 1_000; attempt++)
        {
            var port = Random.Shared.Next(Lowest, EphemeralLow);
            lock (Gate)
            {
                if (!HandedOut.Add(port))
                {
                    continue;
                }
            }

            if (IsFree(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"No free loopback port between {Lowest} and {EphemeralLow} after 1,000 tries.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port) { ExclusiveAddressUse = true };
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The first port of the kernel's ephemeral range (<c>net.ipv4.ip_local_port_range</c>); 32768 when unreadable.</summary>
    private static int ReadEphemeralLow()
    {
        try
        {
            var first = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0];
            return int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var low) && low > Lowest + 1_000 ? low : 32_768;
        }
        catch (IOException)
        {
            return 32_768;
        }
    }
}
