using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.TestHost;
using TradeStore.Server.Metrics;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Grafana;

/// <summary>deploy/grafana/tradestore.json queries only metric names that <c>GET /metrics</c> exports.</summary>
public sealed partial class GrafanaDashboardTests
{
    [Fact]
    public async Task Dashboard_EveryQueriedMetric_IsExportedByTheService()
    {
        using var data = new TempDirectory("grafana");
        // Redis and ClickHouse configured (on closed ports), so their instruments exist too.
        await using var app = await TestHostFactory.StartAsync(data.Path, new()
        {
            ["TRADESTORE__REDIS__CONNECTION"] = $"127.0.0.1:{FreePort.Next()}",
            ["TRADESTORE__CLICKHOUSE__URL"] = $"http://127.0.0.1:{FreePort.Next()}",
        });
        using var http = app.GetTestClient();
        var api = new ApiClient(http);
        await api.CreateAsync("G-1");
        var scraped = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), TestContext.Current.CancellationToken);

        var exported = TypeLine().Matches(scraped).Select(m => m.Groups[1].Value).ToHashSet();
        exported.UnionWith(InstrumentNames());
        var queried = QueriedNames();

        Assert.Contains("tradestore_write_ack_latency_seconds_bucket", queried);
        Assert.Empty(queried.Except(exported));
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

    /// <summary>The Prometheus names of every TradeStore instrument, as <see cref="MeterBridge"/> exports them.</summary>
    private static HashSet<string> InstrumentNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (!PrometheusExport.IsExported(instrument.Meter.Name))
                {
                    return;
                }

                var type = instrument.GetType().GetGenericTypeDefinition();
                var monotonic = type == typeof(Counter<>) || type == typeof(ObservableCounter<>);
                var name = MeterBridge.PrometheusName(instrument.Name, instrument.Unit, monotonic);
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
        return names;
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
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "TradeStore.slnx")))
        {
            directory = directory.Parent;
        }

        var path = Path.Combine(directory!.FullName, "deploy", "grafana", "tradestore.json");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.Clone();
    }

    [GeneratedRegex(@"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) ", RegexOptions.Multiline)]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"\b(?:tradestore|process|http)_[a-z0-9_]+(?=\{)")] // a metric name, always followed by its {job="$job"} selector
    private static partial Regex MetricName();
}
