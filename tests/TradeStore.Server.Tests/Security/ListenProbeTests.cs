using System.Net;
using System.Net.Sockets;
using TradeStore.Server.Security;

namespace TradeStore.Server.Tests.Security;

/// <summary>Which configured listen address another process holds, found before the host starts.</summary>
public sealed class ListenProbeTests : IDisposable
{
    private readonly TcpListener _occupant = new(IPAddress.Loopback, 0);

    public ListenProbeTests() => _occupant.Start();

    private int Held => ((IPEndPoint)_occupant.LocalEndpoint).Port;

    public void Dispose() => _occupant.Dispose();

    [Fact]
    public void FirstInUse_SecondOfTwoUrlsHeld_NamesItWithTheCause()
    {
        var free = TradeStore.TestSupport.FreePort.Next();

        var held = ListenProbe.FirstInUse($"http://127.0.0.1:{free}; http://127.0.0.1:{Held}");

        Assert.Equal($"http://127.0.0.1:{Held}", held?.Url);
        Assert.Equal(SocketError.AddressAlreadyInUse, held?.Cause.SocketErrorCode);
    }

    [Theory]
    [InlineData("http://localhost:{0}")]
    [InlineData("http://*:{0}")]
    [InlineData("http://+:{0}")]
    [InlineData("http://0.0.0.0:{0}")]
    public void FirstInUse_HostThatListensOnTheHeldAddress_Found(string url)
    {
        Assert.NotNull(ListenProbe.FirstInUse(string.Format(System.Globalization.CultureInfo.InvariantCulture, url, Held)));
    }

    [Theory]
    [InlineData("http://127.0.0.1:0")]
    [InlineData("http://unix:/tmp/tradestore-probe.sock")]
    [InlineData("not a url")]
    [InlineData("")]
    public void FirstInUse_NothingToProbe_None(string urls)
    {
        Assert.Null(ListenProbe.FirstInUse(urls));
    }

    [Fact]
    public void FirstInUse_FreeAddress_NoneAndLeftFree()
    {
        var free = TradeStore.TestSupport.FreePort.Next();

        Assert.Null(ListenProbe.FirstInUse($"http://127.0.0.1:{free}"));

        using var after = new TcpListener(IPAddress.Loopback, free);
        after.Start(); // the probe released it
    }
}
