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
/// ephemeral range, where only listeners live, and none is handed out twice on this machine, in this process or another: each port handed out is
/// reserved by an exclusive lock on its file in <see cref="ReservationDirectory"/>, held until the test process ends, so
/// the test assemblies <c>dotnet test</c> runs side by side cannot pick the same port between one's check and its
/// server's bind. (Until 2026-12-05 only one process's ports were kept apart. In a clean-clone CI a test's <c>serve</c>
/// most likely lost its port to a short-lived host of another assembly (Server.Tests starts and stops whole hosts in
/// about a second): that host answered the test's readiness probe, and its <c>GET /v1/trades</c> got a 500, as from a
/// host stopping.)
/// </remarks>
public static class FreePort
{
    private const int Lowest = 10_000;
    private static readonly Lock Gate = new();
    private static readonly int EphemeralLow = ReadEphemeralLow();
    private static readonly List<FileStream> Reservations = [];

    /// <summary>Where a test process holds one locked file per port it handed out.</summary>
    public static string ReservationDirectory { get; } = Path.Combine(Path.GetTempPath(), "tradestore-test-ports");

    public static int Next()
    {
        for (var attempt = 0; attempt < 1_000; attempt++)
        {
            // A port this process handed out before is refused too: its file is locked through another descriptor.
            var port = Random.Shared.Next(Lowest, EphemeralLow);
            if (TryReserve(port) && IsFree(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"No free loopback port between {Lowest} and {EphemeralLow} after 1,000 tries.");
    }

    /// <summary>
    /// Takes <paramref name="port"/> for this process until it ends (an exclusive <c>flock</c>, which .NET takes for
    /// <see cref="FileShare.None"/>), or <see langword="false"/> when another process holds it.
    /// </summary>
    public static bool TryReserve(int port)
    {
        try
        {
            Directory.CreateDirectory(ReservationDirectory);
            var file = new FileStream(Path.Combine(ReservationDirectory, port.ToString(CultureInfo.InvariantCulture)),
                FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            lock (Gate)
            {
                Reservations.Add(file);
            }

            return true;
        }
        catch (IOException)
        {
            return false;
        }
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
