using System.Net.Sockets;
using TradeStore.Server.Tests.Changes;

namespace TradeStore.Server.Tests;

/// <summary>
/// <c>Kestrel:Limits</c> reaches the real server: ASP.NET Core itself reads only the section's endpoints, so
/// <c>TRADESTORE__KESTREL__LIMITS__KEEPALIVETIMEOUT</c> used to change nothing (a silent connection stayed open 130 s).
/// </summary>
public sealed class KestrelLimitsTests
{
    [Fact]
    public async Task KeepAliveTimeoutSet_SilentConnectionClosedByTheServer()
    {
        await using var host = await KestrelHost.StartAsync(new() { ["TRADESTORE__KESTREL__LIMITS__KEEPALIVETIMEOUT"] = "00:00:02" });
        using var client = new TcpClient();
        await client.ConnectAsync(host.Address.Host, host.Address.Port, TestContext.Current.CancellationToken);
        // A guard against a hung test, well below Kestrel's default of 130 s, never an assertion on speed.
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        patience.CancelAfter(TimeSpan.FromSeconds(60));

        var read = await client.GetStream().ReadAsync(new byte[1], patience.Token);

        Assert.Equal(0, read); // the server closed the connection it heard nothing on
    }
}
