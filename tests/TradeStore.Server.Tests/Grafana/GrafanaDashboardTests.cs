using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.TestHost;
using TradeStore.Cluster;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Grafana;

/// <summary>deploy/grafana/tradestore.json and deploy/prometheus/alerts.yml query only metric names that <c>GET /metrics</c> exports.</summary>
public sealed partial class GrafanaDashboardTests
{
    [Fact]
    public async Task Dashboard_EveryQueriedMetric_IsExportedByTheService()
    {
        var queried = QueriedNames();
        var exported = await ExportedNamesAsync();

        Assert.Contains("tradestore_write_ack_latency_seconds_bucket", queried);
        Assert.Empty(queried.Except(exported));
    }

    [Fact]
    public async Task Alerts_EveryQueriedMetric_IsExportedByTheService()
    {
        var queried = File.ReadLines(Path.Combine(TradeStoreProcess.RepositoryRoot, "deploy", "prometheus", "alerts.yml"))
            .Where(line => line.TrimStart().StartsWith("expr:", StringComparison.Ordinal))
            .SelectMany(line => AlertMetricName().Matches(line).Select(m => m.Value))
            .ToHashSet(StringComparer.Ordinal);
        var exported = await ExportedNamesAsync();

        Assert.Contains("tradestore_write_commit_duration_seconds_bucket", queried);
        Assert.Contains("tradestore_cluster_leader", queried);
        Assert.Empty(queried.Except(exported));
    }

    /// <summary>
    /// The metric names a host exports: those one scrape shows, and (for instruments not measured yet: cluster, change
    /// feed) the names of every TradeStore instrument published, under the same convention, which must agree with every
    /// TradeStore name the exporter did write.
    /// </summary>
    private static async Task<HashSet<string>> ExportedNamesAsync()
    {
        using var data = new TempDirectory("grafana");
        // Listening from before the host starts, so every instrument the scrape can show is seen.
        var instruments = new HashSet<string>(StringComparer.Ordinal);
        using var listener = ListenForInstruments(instruments);
        // Redis and ClickHouse configured (on closed ports), so their instruments exist too.
        await using var app = await TestHostFactory.StartAsync(data.Path, new()
        {
            ["TRADESTORE__REDIS__CONNECTION"] = $"127.0.0.1:{FreePort.Next()}",
            ["TRADESTORE__CLICKHOUSE__URL"] = $"http://127.0.0.1:{FreePort.Next()}",
        });
        // A standalone host has no cluster instruments: published here, from a cluster node's own metrics type.
        using var meters = new TestMeters();
        _ = new ClusterMetrics(meters.Factory, new ClusterState(new ClusterOptions { Node = "names", AdvertiseUrl = "http://names.test:5080" }, new LeaseClock(TimeProvider.System, TimeSpan.FromSeconds(1))), () => 0);
        using var http = app.GetTestClient();
        var api = new ApiClient(http);
        await api.CreateAsync("G-1");
        var scraped = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), TestContext.Current.CancellationToken);

        var families = PrometheusText.Parse(scraped).Values;
        var exported = families.Select(f => f.Name).Concat(families.SelectMany(f => f.Samples.Select(s => s.Name))).ToHashSet();

        string[] known;
        lock (instruments)
        {
            known = [.. instruments];
        }

        Assert.Empty(exported.Where(name => name.StartsWith("tradestore_", StringComparison.Ordinal)).Except(known));
        exported.UnionWith(known);
        return exported;
    }

    [Fact]
    public void Dashboard_Panels_CoverThroughputLatencyQueueLagRestartsAndErrors()
    {
        var titles = Dashboard().GetProperty("panels").EnumerateArray().Select(p => p.GetProperty("title").GetString()!).ToList();

        foreach (var topic in new[] { "Throughput", "latency", "Queue depth", "lag", "Restarts", "Errors by type" })
        {
            Assert.Contains(titles, title => title.Contains(topic, StringComparison.OrdinalIgnoreCase));
        }
    }

    /// <summary>
    /// The Prometheus names of every TradeStore instrument under OpenTelemetry's convention: <c>.</c> becomes <c>_</c>,
    /// the unit adds a suffix (<c>s</c> <c>_seconds</c>, <c>By</c> <c>_bytes</c>, none for <c>{annotations}</c>), a counter <c>_total</c>.
    /// </summary>
    private static MeterListener ListenForInstruments(HashSet<string> names)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (!instrument.Meter.Name.StartsWith("TradeStore.", StringComparison.Ordinal))
                {
                    return;
                }

                var type = instrument.GetType().GetGenericTypeDefinition();
                var name = instrument.Name.Replace('.', '_') + instrument.Unit switch
                {
                    "s" => "_seconds",
                    "By" => "_bytes",
                    _ => string.Empty,
                };
                if (type == typeof(Counter<>) || type == typeof(ObservableCounter<>))
                {
                    name += "_total";
                }

                lock (names)
                {
                    names.Add(name);
                    if (type == typeof(Histogram<>))
                    {
                        names.UnionWith([name + "_bucket", name + "_sum", name + "_count"]);
                    }
                }
            },
        };
        listener.Start();
        return listener;
    }

    private static HashSet<string> QueriedNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var panel in Dashboard().GetProperty("panels").EnumerateArray())
        {
            if (!panel.TryGetProperty("targets", out var targets))
            {
                continue;
            }

            foreach (var target in targets.EnumerateArray())
            {
                names.UnionWith(MetricName().Matches(target.GetProperty("expr").GetString()!).Select(m => m.Value));
            }
        }

        return names;
    }

    private static JsonElement Dashboard()
    {
        var path = Path.Combine(TradeStoreProcess.RepositoryRoot, "deploy", "grafana", "tradestore.json");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.Clone();
    }

    [GeneratedRegex(@"\b(?:tradestore|process|http)_[a-z0-9_]+(?=\{)")] // a metric name, always followed by its {job="$job"} selector
    private static partial Regex MetricName();

    [GeneratedRegex(@"\b(?:tradestore|process|http)_[a-z0-9_]+\b")] // in a rule's expr; a bare label value is never one (job="tradestore")
    private static partial Regex AlertMetricName();
}
