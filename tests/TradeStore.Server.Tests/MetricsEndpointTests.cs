using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.TestHost;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests;

/// <summary><c>GET /metrics</c>: Prometheus text with process, runtime and TradeStore meters.</summary>
public sealed class MetricsEndpointTests : IDisposable
{
    private readonly TempDirectory _data = new("metrics");

    public void Dispose() => _data.Dispose();

    [Fact]
    public async Task Metrics_EmbeddedDefault_ParsesAsPrometheusTextWithProcessAndRuntimeMetrics()
    {
        await using var app = await TestHostFactory.StartAsync(_data.Path);
        using var client = app.GetTestClient();

        using var response = await client.GetAsync("/metrics", TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var families = PrometheusText.Parse(text);
        Assert.Equal("gauge", families["process_start_time_seconds"].Type);
        Assert.Equal("counter", families["process_cpu_seconds_total"].Type);
        Assert.Contains(families.Keys, name => name.StartsWith("dotnet_gc_", StringComparison.Ordinal));
        Assert.All(families.Values, family => Assert.False(string.IsNullOrWhiteSpace(family.Help), $"{family.Name} has no HELP text"));
    }

    [Fact]
    public async Task Metrics_TradeStoreMeter_ExportedUnderPrometheusName()
    {
        await using var app = await TestHostFactory.StartAsync(_data.Path);
        using var client = app.GetTestClient();
        using var meter = new Meter("TradeStore.Tests");
        var counter = meter.CreateCounter<long>("tradestore.test.events", "{event}", "Events counted by a test.");
        counter.Add(3);
        using var other = new Meter("SomeLibrary.Metrics");
        other.CreateCounter<long>("somelibrary.noise").Add(1);

        var families = PrometheusText.Parse(await client.GetStringAsync("/metrics", TestContext.Current.CancellationToken));

        var exported = Assert.Single(families.Values, family => family.Name.StartsWith("tradestore_test_events", StringComparison.Ordinal));
        Assert.Equal("counter", exported.Type);
        Assert.Equal(3, Assert.Single(exported.Samples).Value);
        Assert.DoesNotContain(families.Keys, name => name.StartsWith("somelibrary", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_DependencyHealth_PublishedAsGauge()
    {
        await using var app = await TestHostFactory.StartAsync(_data.Path);
        using var client = app.GetTestClient();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        PrometheusText.Family? health = null;
        while (DateTime.UtcNow < deadline)
        {
            var families = PrometheusText.Parse(await client.GetStringAsync("/metrics", TestContext.Current.CancellationToken));
            health = families.Values.FirstOrDefault(family => family.Name.StartsWith("tradestore_health_status", StringComparison.Ordinal));
            if (health is { Samples.Count: > 0 })
            {
                break;
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        Assert.NotNull(health);
        Assert.Equal("gauge", health.Type);
        var duckdb = Assert.Single(health.Samples, sample => sample.Labels.GetValueOrDefault("dependency") == "duckdb");
        Assert.Equal(2, duckdb.Value);
    }

    [Fact]
    public async Task Metrics_Disabled_NotFound()
    {
        await using var app = await TestHostFactory.StartAsync(_data.Path, new() { ["TRADESTORE__SERVER__METRICSENABLED"] = "false" });
        using var client = app.GetTestClient();

        using var response = await client.GetAsync("/metrics", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
