using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.TestHost;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests;

/// <summary><c>GET /metrics</c>: Prometheus text with process, runtime and TradeStore meters.</summary>
[Collection(nameof(MetricsCollection))]
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
        Assert.Equal("counter", families["dotnet_gc_collections_total"].Type);
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

        var exported = families["tradestore_test_events_total"];
        Assert.Equal("counter", exported.Type);
        Assert.Equal(3, Assert.Single(exported.Samples).Value);
        Assert.DoesNotContain(families.Keys, name => name.StartsWith("somelibrary", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_Histogram_SecondsSuffixAndAdvisedBuckets()
    {
        await using var app = await TestHostFactory.StartAsync(_data.Path);
        using var client = app.GetTestClient();
        using var meter = new Meter("TradeStore.Tests.Histogram");
        var histogram = meter.CreateHistogram("tradestore.test.duration", "s", "A duration recorded by a test.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1] });
        histogram.Record(0.5, new KeyValuePair<string, object?>("outcome", "applied"));

        var families = PrometheusText.Parse(await client.GetStringAsync("/metrics", TestContext.Current.CancellationToken));

        var exported = families["tradestore_test_duration_seconds"];
        Assert.Equal("histogram", exported.Type);
        double Bucket(string le) => Assert.Single(exported.Samples, s => s.Name.EndsWith("_bucket", StringComparison.Ordinal) && s.Labels["le"] == le).Value;
        Assert.Equal(0, Bucket("0.1"));
        Assert.Equal(1, Bucket("1"));
        Assert.Equal(1, Bucket("+Inf"));
        Assert.All(exported.Samples, sample => Assert.Equal("applied", sample.Labels["outcome"]));
    }

    [Fact]
    public async Task Metrics_AfterAWrite_TradeStateFlushExported()
    {
        await using var app = await TestHostFactory.StartAsync(_data.Path);
        using var client = app.GetTestClient();
        Assert.Equal(201, (await new ApiClient(client).CreateAsync("FLUSH-1")).Code);

        IReadOnlyDictionary<string, PrometheusText.Family> families = new Dictionary<string, PrometheusText.Family>();
        await Eventually.TrueAsync(async () =>
        {
            families = PrometheusText.Parse(await client.GetStringAsync("/metrics", TestContext.Current.CancellationToken));
            return families.GetValueOrDefault("tradestore_state_flush_rows") is { } rows
                && rows.Samples.Any(s => s.Name.EndsWith("_count", StringComparison.Ordinal) && s.Value >= 1);
        }, describe: () => "no trade_state flush was exported");

        Assert.Equal("histogram", families["tradestore_state_flush_duration_seconds"].Type);
        Assert.Equal("gauge", families["tradestore_state_flush_lag"].Type);

        // Behind a burst on a starved machine these take tens of seconds: the buckets reach a minute (they ended at 5 s).
        foreach (var histogram in new[] { "tradestore_state_flush_duration_seconds", "tradestore_write_apply_lag_seconds", "tradestore_write_apply_duration_seconds" })
        {
            Assert.Contains(families[histogram].Samples, s => s.Name.EndsWith("_bucket", StringComparison.Ordinal) && s.Labels["le"] == "60");
        }
    }

    [Fact]
    public async Task Metrics_SecondScrape_SeesMeasurementsMadeAfterTheFirst()
    {
        await using var app = await TestHostFactory.StartAsync(_data.Path);
        using var client = app.GetTestClient();
        using var meter = new Meter("TradeStore.Tests.Fresh");
        var counter = meter.CreateCounter<long>("tradestore.test.fresh", "{event}", "Events counted by a test.");
        counter.Add(3);
        var first = PrometheusText.Parse(await client.GetStringAsync("/metrics", TestContext.Current.CancellationToken));

        counter.Add(2);
        var second = PrometheusText.Parse(await client.GetStringAsync("/metrics", TestContext.Current.CancellationToken));

        Assert.Equal(3, Assert.Single(first["tradestore_test_fresh_total"].Samples).Value);
        Assert.Equal(5, Assert.Single(second["tradestore_test_fresh_total"].Samples).Value);
    }

    [Fact]
    public async Task Metrics_ProcessStartTime_IsTheStartOfThisProcess()
    {
        await using var app = await TestHostFactory.StartAsync(_data.Path);
        using var client = app.GetTestClient();
        using var process = System.Diagnostics.Process.GetCurrentProcess();

        var families = PrometheusText.Parse(await client.GetStringAsync("/metrics", TestContext.Current.CancellationToken));

        var started = DateTimeOffset.FromUnixTimeMilliseconds((long)(Assert.Single(families["process_start_time_seconds"].Samples).Value * 1000));
        Assert.Equal(new DateTimeOffset(process.StartTime.ToUniversalTime()), started, TimeSpan.FromSeconds(1));
        Assert.True(Assert.Single(families["process_cpu_seconds_total"].Samples).Value > 0, "process_cpu_seconds_total is 0");
        Assert.True(Assert.Single(families["process_working_set_bytes"].Samples).Value > 0, "process_working_set_bytes is 0");
    }

    [Fact]
    public async Task Metrics_DependencyHealth_PublishedAsGauge()
    {
        await using var app = await TestHostFactory.StartAsync(_data.Path);
        using var client = app.GetTestClient();

        PrometheusText.Family? health = null;
        await Eventually.TrueAsync(async () =>
        {
            var families = PrometheusText.Parse(await client.GetStringAsync("/metrics", TestContext.Current.CancellationToken));
            health = families.GetValueOrDefault("tradestore_health_status");
            return health is { Samples.Count: > 0 };
        }, describe: () => "tradestore_health_status was not exported");

        Assert.NotNull(health);
        Assert.Equal("gauge", health.Type);
        var duckdb = Assert.Single(health.Samples, sample => sample.Labels.GetValueOrDefault("dependency") == "duckdb");
        Assert.Equal(2, duckdb.Value);
    }

    [Fact]
    public async Task Metrics_TwoHostsInOneProcess_EachExportsItsOwnWritesOnly_AlsoAfterTheOtherStops()
    {
        using var otherData = new TempDirectory("metrics-other");
        var other = await TestHostFactory.StartAsync(otherData.Path);
        await using var app = await TestHostFactory.StartAsync(_data.Path);
        using var client = app.GetTestClient();
        var api = new ApiClient(client);
        var otherApi = new ApiClient(other.GetTestClient());
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(201, (await otherApi.CreateAsync($"OTHER-{i}")).Code);
        }

        for (var i = 1; i <= 5; i++)
        {
            Assert.Equal(201, (await api.CreateAsync($"OWN-{i}")).Code);
        }

        var whileBothRun = await WritesAsync(client);
        await other.DisposeAsync();
        for (var i = 6; i <= 7; i++)
        {
            Assert.Equal(201, (await api.CreateAsync($"OWN-{i}")).Code);
        }

        var afterTheOtherStopped = await WritesAsync(client);

        // The other host's 3 writes are not counted here, and its stopping does not take this host's series away.
        Assert.Equal((5, 5), whileBothRun);
        Assert.Equal((7, 7), afterTheOtherStopped);
    }

    /// <summary>
    /// How many idempotency keys the server holds was visible nowhere (a soak found memory held by keys it could not
    /// see): the gauge counts each key once, however often it is retried, and no keyless write.
    /// </summary>
    [Fact]
    public async Task Metrics_KeyedWrites_IdempotencyKeysGaugeCountsEachKeyOnce()
    {
        await using var app = await TestHostFactory.StartAsync(_data.Path);
        using var client = app.GetTestClient();
        var api = new ApiClient(client);
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(201, (await api.PostAsync("/v1/trades", ApiClient.CreateBody($"KEYED-{i}"), idempotencyKey: $"key-{i}")).Code);
        }

        Assert.Equal(201, (await api.PostAsync("/v1/trades", ApiClient.CreateBody("KEYED-1"), idempotencyKey: "key-1")).Code); // the replay
        Assert.Equal(201, (await api.CreateAsync("KEYLESS")).Code);

        var families = PrometheusText.Parse(await client.GetStringAsync("/metrics", TestContext.Current.CancellationToken));

        var keys = families["tradestore_write_idempotency_keys"];
        Assert.Equal("gauge", keys.Type);
        Assert.Equal(3, Assert.Single(keys.Samples).Value);
    }

    /// <summary>Applied commands and acknowledgement-latency observations in this host's <c>/metrics</c>.</summary>
    private static async Task<(double Applied, double Acknowledged)> WritesAsync(HttpClient client)
    {
        var families = PrometheusText.Parse(await client.GetStringAsync("/metrics", TestContext.Current.CancellationToken));
        var applied = families.GetValueOrDefault("tradestore_write_commands_total")?.Samples
            .Where(s => s.Labels.GetValueOrDefault("outcome") == "applied").Sum(s => s.Value) ?? 0;
        var acknowledged = families.GetValueOrDefault("tradestore_write_ack_latency_seconds")?.Samples
            .Where(s => s.Name.EndsWith("_count", StringComparison.Ordinal)).Sum(s => s.Value) ?? 0;
        return (applied, acknowledged);
    }

    /// <summary>
    /// The counters the dashboard and the alerts chart are exported from the start, at 0, in every series they can have:
    /// a counter once appeared only after its first increment, so the failure panels showed "No data" and an alert on
    /// rate() missed the first failure.
    /// </summary>
    [Fact]
    public async Task Metrics_FreshServer_ExportsEveryCounterAtZeroInEverySeries()
    {
        await using var app = await TestHostFactory.StartAsync(_data.Path);
        using var client = app.GetTestClient();

        var families = PrometheusText.Parse(await client.GetStringAsync("/metrics", TestContext.Current.CancellationToken));

        AssertZero(families, "tradestore_state_flush_failures_total");
        AssertZero(families, "tradestore_write_apply_failures_total");
        AssertZero(families, "tradestore_changes_events_total");
        AssertZeroSeries(families, "tradestore_changes_disconnects_total", "reason", "lagging", "shutdown", "gap");
        var commands = families["tradestore_write_commands_total"];
        Assert.Equal("counter", commands.Type);
        foreach (var type in new[] { "create", "amend", "fill", "cancel", "delete" })
        {
            foreach (var outcome in new[] { "applied", "replayed", "validation", "not_found", "already_exists", "version_conflict", "invalid_transition", "busy", "unavailable", "storage_failure", "idempotency_key_reused", "replication_unavailable", "in_doubt" })
            {
                var sample = Assert.Single(commands.Samples, s => s.Labels.GetValueOrDefault("type") == type && s.Labels.GetValueOrDefault("outcome") == outcome);
                Assert.Equal(0, sample.Value);
            }
        }
    }

    /// <summary>
    /// Every refusal the writer can decide has its own outcome, named as its kind in snake_case; none is lumped under
    /// <c>other</c> (replication-unavailable was, so a cluster's unacknowledged writes were invisible on the dashboard).
    /// </summary>
    [Fact]
    public async Task Metrics_WriteCommandOutcomes_OneSeriesPerErrorKindAndNoOther()
    {
        await using var app = await TestHostFactory.StartAsync(_data.Path);
        using var client = app.GetTestClient();

        var commands = PrometheusText.Parse(await client.GetStringAsync("/metrics", TestContext.Current.CancellationToken))["tradestore_write_commands_total"];
        var outcomes = commands.Samples.Select(s => s.Labels.GetValueOrDefault("outcome")).ToHashSet();

        Assert.DoesNotContain("other", outcomes);
        foreach (var kind in Enum.GetValues<TradeStore.Core.Trades.CommandErrorKind>())
        {
            var snake = string.Concat(kind.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
            Assert.True(outcomes.Contains(snake), $"no outcome=\"{snake}\" series for {kind}; exported: {string.Join(", ", outcomes.Order())}");
        }
    }

    /// <summary>The Redis and ClickHouse counters, with both configured and answering: each at 0 before anything failed or was written.</summary>
    [Fact]
    public async Task Metrics_FreshServerWithRedisAndClickHouse_ExportsTheirCountersAtZero()
    {
        var redis = TestServers.Redis;
        var clickHouse = TestServers.ClickHouse;
        await using var app = await TestHostFactory.StartAsync(_data.Path, new()
        {
            ["TRADESTORE__REDIS__CONNECTION"] = redis,
            ["TRADESTORE__REDIS__KEYPREFIX"] = $"metrics-{Guid.NewGuid():N}:",
            ["TRADESTORE__CLICKHOUSE__URL"] = clickHouse,
            ["TRADESTORE__CLICKHOUSE__DATABASE"] = $"metrics_{Guid.NewGuid():N}",
        });
        using var client = app.GetTestClient();

        var families = PrometheusText.Parse(await client.GetStringAsync("/metrics", TestContext.Current.CancellationToken));

        AssertZero(families, "tradestore_redis_failures_total");
        AssertZero(families, "tradestore_redis_events_total");
        AssertZero(families, "tradestore_redis_batches_total");
        AssertZero(families, "tradestore_sync_events_total");
        AssertZero(families, "tradestore_sync_batches_total");
        AssertZero(families, "tradestore_sync_retries_total");
        AssertZeroSeries(families, "tradestore_sync_failures_total", "kind",
            "authentication", "missing_table", "server_error", "timeout", "connection_refused", "connection_lost", "conflict", "internal");
    }

    private static void AssertZero(IReadOnlyDictionary<string, PrometheusText.Family> families, string name)
    {
        Assert.True(families.TryGetValue(name, out var family), $"{name} is not exported");
        Assert.Equal("counter", family.Type);
        Assert.Equal(0, Assert.Single(family.Samples).Value);
    }

    private static void AssertZeroSeries(IReadOnlyDictionary<string, PrometheusText.Family> families, string name, string label, params string[] values)
    {
        Assert.True(families.TryGetValue(name, out var family), $"{name} is not exported");
        Assert.Equal("counter", family.Type);
        foreach (var value in values)
        {
            Assert.Equal(0, Assert.Single(family.Samples, s => s.Labels.GetValueOrDefault(label) == value).Value);
        }
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
