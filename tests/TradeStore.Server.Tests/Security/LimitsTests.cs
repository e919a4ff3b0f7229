using Microsoft.AspNetCore.TestHost;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Security;

/// <summary>Floods get 429 with Retry-After; oversize bodies 413; health is never limited.</summary>
public sealed class LimitsTests
{
    [Fact]
    public async Task Flood_BeyondRateAndBurst_429WithRetryAfterAndHealthStillAnswers()
    {
        using var directory = new TempDirectory();
        await using var app = await TestHostFactory.StartAsync(directory.Path, new()
        {
            ["TRADESTORE__SECURITY__REQUESTSPERSECOND"] = "1",
            ["TRADESTORE__SECURITY__REQUESTBURST"] = "3",
        });
        var client = new ApiClient(app.GetTestServer().CreateClient());

        var answers = new List<ApiAnswer>();
        for (var i = 0; i < 20; i++)
        {
            answers.Add(await client.GetAsync("/v1/trades"));
        }

        var refused = answers.Where(a => a.Code == 429).ToList();
        Assert.NotEmpty(refused);
        Assert.Equal("urn:tradestore:problem:too-many-requests", refused[0].ProblemType);
        Assert.True(int.Parse(refused[0].Headers.RetryAfter!.ToString(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        Assert.Equal(200, (await client.GetAsync("/health/live")).Code);
        // Another caller (address) has its own bucket.
        var other = app.GetTestServer().CreateClient();
        other.DefaultRequestHeaders.Add(TestHostFactory.RemoteAddressHeader, "::1");
        Assert.Equal(200, (await new ApiClient(other).GetAsync("/v1/trades")).Code);
    }

    /// <summary>
    /// The limit is the configured rate, not the bucket: each bucket had its own timer that added a second's tokens once a
    /// second and kept only the bucket's size of them, so 400/s with a burst of 20 served 20 requests a second. Four
    /// callers flood for 3 s; a bucket of 50 at 200/s lets through at most 50 + 200 × the seconds gone by, and (with
    /// room for a slow machine) well over the 200 that the old refill would have allowed.
    /// </summary>
    [Fact]
    public async Task Flood_BurstBelowTheRate_ServedAtTheRateNotTheBurstPerSecond()
    {
        using var directory = new TempDirectory();
        await using var app = await TestHostFactory.StartAsync(directory.Path, new()
        {
            ["TRADESTORE__SECURITY__REQUESTSPERSECOND"] = "200",
            ["TRADESTORE__SECURITY__REQUESTBURST"] = "50",
        });
        var client = new ApiClient(app.GetTestServer().CreateClient());
        await client.GetAsync("/v1/trades/warm-up"); // the first request builds the pipeline

        var (served, refused, seconds) = await FloodAsync(client, connections: 4, TimeSpan.FromSeconds(3));

        Assert.True(refused > 0, $"served {served}, none refused: the flood never reached the limit");
        Assert.True(served <= 50 + (200 * (seconds + 0.2)), $"served {served} in {seconds:0.00} s");
        Assert.True(served >= 350, $"served {served} in {seconds:0.00} s, refused {refused}");
    }

    /// <summary>
    /// After an idle spell, a burst is the bucket and then the rate: the first refill after the burst used to credit the
    /// time the bucket had sat full, a second bucketful at once (38–48 served in half a second with a bucket of 20 at 20/s,
    /// bounds audit, session 37). The bound counts the time that really went by, so a slow machine only loosens it.
    /// </summary>
    [Fact]
    public async Task Flood_AfterAnIdleSpell_TheBurstThenTheRateNotTwoBursts()
    {
        using var directory = new TempDirectory();
        await using var app = await TestHostFactory.StartAsync(directory.Path, new()
        {
            ["TRADESTORE__SECURITY__REQUESTSPERSECOND"] = "20",
            ["TRADESTORE__SECURITY__REQUESTBURST"] = "20",
        });
        var client = new ApiClient(app.GetTestServer().CreateClient());
        await client.GetAsync("/v1/trades/warm-up"); // the first request builds the pipeline
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);

        var (served, _, seconds) = await FloodAsync(client, connections: 1, TimeSpan.FromMilliseconds(600));
        Assert.True(served >= 20, $"served {served}: the burst itself was refused");
        Assert.True(served <= 20 + (20 * seconds) + 1, $"served {served} in {seconds:0.00} s: more than the bucket of 20 and 20/s");
    }

    /// <summary>
    /// Reads a trade that does not exist from <paramref name="connections"/> loops until <paramref name="duration"/> has
    /// gone by: how many were served and refused (429), and the seconds that really went by (the bound of a flood).
    /// </summary>
    private static async Task<(int Served, int Refused, double Seconds)> FloodAsync(ApiClient client, int connections, TimeSpan duration)
    {
        var served = 0;
        var refused = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < duration)
            {
                var answer = await client.GetAsync("/v1/trades/T-none");
                Interlocked.Increment(ref answer.Code == 429 ? ref refused : ref served);
            }
        }, TestContext.Current.CancellationToken)));
        return (served, refused, clock.Elapsed.TotalSeconds);
    }

    [Fact]
    public async Task Flood_OneKey_OnlyThatKeyLimitedOtherKeyFromTheSameAddressServed()
    {
        using var directory = new TempDirectory();
        var (floodKey, floodHash) = TradeStore.Core.Security.ApiKeyHash.Generate();
        var (otherKey, otherHash) = TradeStore.Core.Security.ApiKeyHash.Generate();
        await using var app = await TestHostFactory.StartAsync(directory.Path, new()
        {
            ["TRADESTORE__SECURITY__REQUESTSPERSECOND"] = "1",
            ["TRADESTORE__SECURITY__REQUESTBURST"] = "3",
            ["TRADESTORE__SECURITY__APIKEYS__0__NAME"] = "flood",
            ["TRADESTORE__SECURITY__APIKEYS__0__HASH"] = floodHash,
            ["TRADESTORE__SECURITY__APIKEYS__0__ROLE"] = "reader",
            ["TRADESTORE__SECURITY__APIKEYS__1__NAME"] = "other",
            ["TRADESTORE__SECURITY__APIKEYS__1__HASH"] = otherHash,
            ["TRADESTORE__SECURITY__APIKEYS__1__ROLE"] = "reader",
        });
        var flood = new ApiClient(app.GetTestClient(floodKey));

        var codes = new List<int>();
        for (var i = 0; i < 20; i++)
        {
            codes.Add((await flood.GetAsync("/v1/trades")).Code);
        }

        Assert.Contains(429, codes);
        // The same address, another key: its own bucket, full.
        var other = new ApiClient(app.GetTestClient(otherKey));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(200, (await other.GetAsync("/v1/trades")).Code);
        }

        Assert.Equal(429, (await flood.GetAsync("/v1/trades")).Code);
    }

    [Fact]
    public async Task Concurrency_OneSlot_SecondQueryWhileFirstRuns429()
    {
        using var directory = new TempDirectory();
        await using var app = await TestHostFactory.StartAsync(directory.Path, new()
        {
            ["TRADESTORE__SECURITY__CONCURRENTREQUESTS"] = "1",
            ["TRADESTORE__SECURITY__QUERY__TIMEOUT"] = "00:00:02",
        });
        var client = new ApiClient(app.GetTestServer().CreateClient());

        // The probe GETs may take the one slot before the slow query does (it then gets 429 itself): try again.
        ApiAnswer? slowAnswer = null;
        ApiAnswer? second = null;
        for (var attempt = 0; attempt < 5 && second?.Code != 429; attempt++)
        {
            var slow = client.PostAsync("/v1/query", """{"sql":"SELECT count(*) FROM range(10000000000000) t WHERE t.range = -1"}""");
            while (!slow.IsCompleted)
            {
                second = await client.GetAsync("/v1/trades");
                if (second.Code == 429)
                {
                    break;
                }
            }

            slowAnswer = await slow;
        }

        Assert.Equal(429, second?.Code);
        Assert.True(slowAnswer?.InterruptedAtQueryTimeout, slowAnswer?.Raw);
        Assert.Equal(200, (await client.GetAsync("/v1/trades")).Code);
    }

    [Theory]
    [InlineData("/v1/trades")]
    [InlineData("/v1/trades/batch")]
    [InlineData("/v1/query")]
    public async Task Body_OverLimit_413AndNothingCreated(string path)
    {
        using var directory = new TempDirectory();
        await using var app = await TestHostFactory.StartAsync(directory.Path, new() { ["TRADESTORE__API__MAXREQUESTBODYBYTES"] = "1024" });
        var client = new ApiClient(app.GetTestServer().CreateClient());
        var body = ApiClient.CreateBody("BIG-1", extra: $",\"venue\":\"{new string('x', 2000)}\"");

        var answer = await client.PostAsync(path, path.EndsWith("batch", StringComparison.Ordinal) ? $"[{body}]" : body);

        Assert.Equal(413, answer.Code);
        Assert.Equal(404, (await client.GetAsync("/v1/trades/BIG-1")).Code);
    }
}
