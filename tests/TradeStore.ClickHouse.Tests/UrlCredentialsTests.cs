using TradeStore.Core.Options;
using TradeStore.TestSupport;

namespace TradeStore.ClickHouse.Tests;

/// <summary>
/// Credentials in <c>ClickHouse:Url</c> are sent (HTTP basic), as with <c>ClickHouse:User</c>/<c>Password</c>: they were
/// dropped, and a URL naming a user ClickHouse does not know still ran every query as <c>default</c>.
/// </summary>
public sealed class UrlCredentialsTests
{
    [Fact]
    public async Task UrlWithUnknownUser_RefusedByClickHouse()
    {
        var client = ClickHouseClient.Create(new ClickHouseOptions { Url = WithUserInfo("nosuchuser:x") });

        var refused = await Assert.ThrowsAsync<ClickHouseException>(() => client.QueryAsync("SELECT 1", TestContext.Current.CancellationToken));

        Assert.Contains("nosuchuser", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UrlWithDefaultUser_Answers()
    {
        var client = ClickHouseClient.Create(new ClickHouseOptions { Url = WithUserInfo("default:") });

        var answer = await client.QueryAsync("SELECT 1", TestContext.Current.CancellationToken);

        Assert.Equal("1", answer.Trim());
    }

    private static string WithUserInfo(string userInfo)
    {
        var server = new Uri(TestServers.ClickHouse);
        return new UriBuilder(server) { UserName = userInfo.Split(':')[0], Password = userInfo.Split(':')[1] }.Uri.ToString();
    }
}
