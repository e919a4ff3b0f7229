using System.Text.Json;
using Microsoft.AspNetCore.TestHost;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Security;

/// <summary>
/// <c>/health/ready</c> answers every caller with the status code and each dependency's status, but writes the checks'
/// descriptions (the DuckDB file's path, sink addresses, failure causes) only for an authenticated caller.
/// </summary>
public sealed class HealthDisclosureTests(SecuredHost host) : IClassFixture<SecuredHost>
{
    [Theory]
    [InlineData(Caller.Anonymous)]
    [InlineData(Caller.WrongKey)]
    public async Task Ready_KeysConfiguredCallerNotAuthenticated_StatusesWithoutDescriptions(Caller caller)
    {
        var answer = await host.Client(caller).GetAsync("/health/ready");

        Assert.Equal(200, answer.Code);
        Assert.Equal("healthy", answer.Body.GetProperty("status").GetString());
        var duckdb = answer.Body.GetProperty("dependencies").GetProperty("duckdb");
        Assert.Equal("healthy", duckdb.GetProperty("status").GetString());
        Assert.False(duckdb.TryGetProperty("description", out _), answer.Raw);
        Assert.Equal("disabled", answer.Body.GetProperty("dependencies").GetProperty("redis").GetProperty("status").GetString());
        Assert.DoesNotContain("tradestore.duckdb", answer.Raw, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Caller.Reader)]
    [InlineData(Caller.TraderA)]
    [InlineData(Caller.Admin)]
    public async Task Ready_KeysConfiguredAnyRole_DescriptionsWritten(Caller caller)
    {
        var answer = await host.Client(caller).GetAsync("/health/ready");

        Assert.Equal(200, answer.Code);
        var duckdb = answer.Body.GetProperty("dependencies").GetProperty("duckdb");
        Assert.Equal("healthy", duckdb.GetProperty("status").GetString());
        Assert.EndsWith("tradestore.duckdb", duckdb.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// The journal's last seq counts every account's writes: it went to anyone on the network in <c>TradeStore-Seq</c>
    /// of the health probes, <c>/openapi</c>, <c>/console</c> and unknown paths, and <c>/health/live?minSeq=1000000</c>
    /// answered 503 naming it after holding the request for <c>Cluster:ReadWaitTimeout</c>.
    /// </summary>
    [Theory]
    [InlineData(Caller.Anonymous)]
    [InlineData(Caller.WrongKey)]
    public async Task OpenEndpoints_CallerNotAuthenticated_NoSeqHeaderAndMinSeqIgnored(Caller caller)
    {
        var client = host.Client(caller);

        foreach (var path in new[] { "/health/live", "/health/ready", "/openapi/v1.json", "/console/", "/no-such-path" })
        {
            var answer = await client.GetAsync(path);
            Assert.False(answer.Headers.Contains("TradeStore-Seq"), $"{path} → {answer.Code} carries TradeStore-Seq");
        }

        var waited = await client.GetAsync("/health/live?minSeq=1000000");
        Assert.Equal(200, waited.Code);
        Assert.False(waited.Headers.Contains("TradeStore-Seq"));
        Assert.DoesNotContain("seq", waited.Raw, StringComparison.Ordinal);
    }

    /// <summary>
    /// With a key the seq header is there, and <c>minSeq</c> waits under <c>/v1</c> only, where /openapi/v1.json declares
    /// it: the health probes and <c>/metrics</c> answered a keyed <c>?minSeq=</c> with an undeclared 400 or 503.
    /// </summary>
    [Fact]
    public async Task OpenEndpoints_AnyKey_SeqHeaderAndMinSeqOnlyUnderV1()
    {
        var client = host.Client(Caller.ReaderA);
        var answer = await client.GetAsync("/health/live");

        Assert.Equal(200, answer.Code);
        Assert.True(long.Parse(answer.Headers.GetValues("TradeStore-Seq").Single(), System.Globalization.CultureInfo.InvariantCulture) > 0);
        foreach (var path in new[] { "/health/live?minSeq=1000000", "/health/ready?minSeq=x", "/openapi/v1.json?minSeq=1000000" })
        {
            Assert.Equal(200, (await client.GetAsync(path)).Code);
        }

        Assert.Equal(503, (await client.GetAsync("/v1/positions?minSeq=1000000")).Code);
        Assert.Equal(400, (await client.GetAsync("/v1/positions?minSeq=x")).Code);
    }

    [Fact]
    public async Task Ready_NoKeysRedisDown_LoopbackSeesCauseOthersOnlyDegraded()
    {
        using var directory = new TempDirectory();
        using var redisPort = new RefusingPort();
        var deadRedis = $"127.0.0.1:{redisPort.Port}";
        await using var app = await TestHostFactory.StartAsync(directory.Path, new()
        {
            ["TRADESTORE__REDIS__CONNECTION"] = deadRedis,
            ["TRADESTORE__REDIS__HEALTHTIMEOUT"] = "00:00:00.500",
        });
        var remote = app.GetTestServer().CreateClient();
        remote.DefaultRequestHeaders.Add(TestHostFactory.RemoteAddressHeader, "10.0.0.5");

        var loopback = await new ApiClient(app.GetTestServer().CreateClient()).GetAsync("/health/ready");
        var far = await new ApiClient(remote).GetAsync("/health/ready");

        Assert.Equal(200, loopback.Code);
        Assert.Contains(directory.DatabasePath, Description(loopback.Body, "duckdb"), StringComparison.Ordinal);
        Assert.Contains(deadRedis, Description(loopback.Body, "redis"), StringComparison.Ordinal);
        // The probe's answer: same code, same statuses, nothing that names the deployment.
        Assert.Equal(200, far.Code);
        Assert.Equal("degraded", far.Body.GetProperty("status").GetString());
        Assert.Equal("healthy", Status(far.Body, "duckdb"));
        Assert.Equal("degraded", Status(far.Body, "redis"));
        Assert.Equal("disabled", Status(far.Body, "clickhouse"));
        Assert.DoesNotContain("description", far.Raw, StringComparison.Ordinal);
        Assert.DoesNotContain(deadRedis, far.Raw, StringComparison.Ordinal);
        Assert.DoesNotContain(directory.Path, far.Raw, StringComparison.Ordinal);
    }

    private static string? Status(JsonElement body, string dependency) =>
        body.GetProperty("dependencies").GetProperty(dependency).GetProperty("status").GetString();

    private static string Description(JsonElement body, string dependency) =>
        body.GetProperty("dependencies").GetProperty(dependency).GetProperty("description").GetString() ?? "";
}
