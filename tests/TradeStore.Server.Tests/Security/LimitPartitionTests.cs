using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using TradeStore.Server.Security;

namespace TradeStore.Server.Tests.Security;

/// <summary>Rate-limit partitions: one per key name or address, and none of them the health probes' unlimited one.</summary>
public sealed class LimitPartitionTests
{
    [Theory]
    [InlineData("(exempt)")]
    [InlineData("")]
    [InlineData("exempt")]
    public void Of_KeyWhateverItsName_NeverTheUnlimitedPartition(string name)
    {
        var context = new DefaultHttpContext
        {
            User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, name)], ApiKeyAuthenticationHandler.SchemeName)),
        };

        var partition = LimitPartition.Of(context);

        Assert.Equal(name, partition.KeyName);
        Assert.NotEqual(LimitPartition.Exempt, partition);
    }

    [Fact]
    public void Of_NoKey_TheRemoteAddressAndNeverTheUnlimitedPartition()
    {
        var withAddress = new DefaultHttpContext();
        withAddress.Connection.RemoteIpAddress = IPAddress.Parse("10.1.2.3");
        var withoutAddress = new DefaultHttpContext();

        Assert.Equal(new LimitPartition(null, IPAddress.Parse("10.1.2.3")), LimitPartition.Of(withAddress));
        Assert.NotEqual(LimitPartition.Exempt, LimitPartition.Of(withoutAddress));
    }
}
