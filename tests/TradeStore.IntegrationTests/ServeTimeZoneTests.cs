using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// From the analytics audit of session 35: DuckDB took its session time zone from the host, so on a server whose
/// <c>TZ</c> (or <c>/etc/localtime</c>) was not UTC every SQL mixing the stored UTC <c>TIMESTAMP</c>s with a zoned time
/// was silently off by the zone's offset: <c>TIMESTAMP '2024-01-01 12:00:00'::TIMESTAMPTZ</c> answered
/// <c>17:00:00Z</c> under New York, <c>executed_at &gt; now() - INTERVAL 1 HOUR</c> compared times five hours apart,
/// <c>now()::TIMESTAMP</c> was the local wall time written with <c>Z</c>, and <c>date_trunc('day', …)</c> cut New York's
/// days; the sandbox locks the configuration, so an analyst could not <c>SET TimeZone</c> either. The real <c>serve</c>
/// under <c>TZ=America/New_York</c> now answers as on a UTC host.
/// </summary>
public sealed class ServeTimeZoneTests : IDisposable
{
    private readonly TempDirectory _work = new("serve-tz");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task Query_OnAHostOutsideUtc_ZonedAndStoredTimesAgreeAsUtc()
    {
        var ct = TestContext.Current.CancellationToken;
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path, new Dictionary<string, string>
        {
            ["TZ"] = "America/New_York",
        });
        await child.WaitUntilAnsweringAsync($"{url}/health/live", TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        using var created = await http.PostAsJsonAsync("/v1/trades", new
        {
            tradeId = "T-TZ", account = "ACC-1", symbol = "AAPL", side = "buy", quantity = "1", price = "2", executedAt = "2024-01-01T12:00:00Z",
        }, ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var threeHoursAgo = DateTimeOffset.UtcNow.AddHours(-3).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        using var earlier = await http.PostAsJsonAsync("/v1/trades", new
        {
            tradeId = "T-TZ-2", account = "ACC-1", symbol = "AAPL", side = "buy", quantity = "1", price = "2", executedAt = threeHoursAgo,
        }, ct);
        Assert.Equal(HttpStatusCode.Created, earlier.StatusCode);

        using var answer = await http.PostAsJsonAsync("/v1/query", new
        {
            sql = """
                SELECT TIMESTAMP '2024-01-01 12:00:00'::TIMESTAMPTZ AS zoned,
                       executed_at = TIMESTAMPTZ '2024-01-01 12:00:00+00' AS same_instant,
                       strftime(executed_at::TIMESTAMPTZ, '%H') AS hour,
                       date_trunc('day', executed_at::TIMESTAMPTZ) AS day,
                       (SELECT executed_at > now() - INTERVAL 1 HOUR FROM current_trade_state WHERE trade_id = 'T-TZ-2') AS three_hours_ago_in_the_last_hour,
                       now()::TIMESTAMP AS wall
                FROM current_trade_state WHERE trade_id = 'T-TZ'
                """,
        }, ct);
        var body = await answer.Content.ReadAsStringAsync(ct);
        Assert.True(answer.StatusCode == HttpStatusCode.OK, body);
        using var json = JsonDocument.Parse(body);
        var row = json.RootElement.GetProperty("rows")[0];

        Assert.Equal("2024-01-01T12:00:00.000000Z", row[0].GetString());
        Assert.True(row[1].GetBoolean(), body);
        Assert.Equal("12", row[2].GetString());
        Assert.Equal("2024-01-01T00:00:00.000000Z", row[3].GetString());
        Assert.False(row[4].GetBoolean(), body);
        // Before, the New York wall time with a Z: five hours behind.
        var wall = DateTimeOffset.Parse(row[5].GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True((DateTimeOffset.UtcNow - wall).Duration() < TimeSpan.FromMinutes(30), $"now()::TIMESTAMP was {wall:O}, the time is {DateTimeOffset.UtcNow:O}");
    }
}
