using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Prometheus;

namespace TradeStore.Server.Metrics;

/// <summary>
/// Publishes <c>System.Diagnostics.Metrics</c> instruments into a prometheus-net registry under the names the
/// OpenTelemetry Prometheus exporter would give them: <c>tradestore.write.commit.duration</c> (unit <c>s</c>) becomes
/// <c>tradestore_write_commit_duration_seconds</c>, a counter gets <c>_total</c>. By design this replaces
/// prometheus-net's own meter adapter, which prefixes every name with its meter name and exports counters as gauges.
/// </summary>
public sealed class MeterBridge : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly IMetricFactory _factory;
    private volatile bool _disposed;

    public MeterBridge(Func<Meter, bool> meterFilter, CollectorRegistry registry)
    {
        _factory = Prometheus.Metrics.WithCustomRegistry(registry);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (meterFilter(instrument.Meter))
            {
                listener.EnableMeasurementEvents(instrument, new InstrumentExport(instrument, _factory));
            }
        };
        _listener.SetMeasurementEventCallback<byte>(static (_, value, tags, state) => ((InstrumentExport)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, value, tags, state) => ((InstrumentExport)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((InstrumentExport)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((InstrumentExport)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => ((InstrumentExport)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((InstrumentExport)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, value, tags, state) => ((InstrumentExport)state!).Record((double)value, tags));
        _listener.Start();
        // Observable instruments are read when Prometheus scrapes, not on a timer.
        registry.AddBeforeCollectCallback(() =>
        {
            if (!_disposed)
            {
                _listener.RecordObservableInstruments();
            }
        });
    }

    public void Dispose()
    {
        _disposed = true;
        _listener.Dispose();
    }

    /// <summary>The Prometheus name of an instrument: sanitized, with a unit suffix and <c>_total</c> for counters.</summary>
    public static string PrometheusName(string instrumentName, string? unit, bool monotonic)
    {
        var name = Sanitize(instrumentName);
        if (UnitSuffix(unit) is { } suffix && !name.EndsWith($"_{suffix}", StringComparison.Ordinal))
        {
            name += $"_{suffix}";
        }

        if (monotonic && !name.EndsWith("_total", StringComparison.Ordinal))
        {
            name += "_total";
        }

        return name;
    }

    private static string? UnitSuffix(string? unit) => unit switch
    {
        null or "" or "1" => null,
        _ when unit.StartsWith('{') => null, // an annotation such as {command}: a count, no unit
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "%" => "percent",
        _ => Sanitize(unit).ToLowerInvariant(),
    };

    internal static string Sanitize(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }

        if (builder.Length == 0 || char.IsAsciiDigit(builder[0]))
        {
            builder.Insert(0, '_');
        }

        return builder.ToString();
    }

    /// <summary>One instrument's Prometheus metric, created at its first measurement (when its tag names are known).</summary>
    private sealed class InstrumentExport(Instrument instrument, IMetricFactory factory)
    {
        private static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
        private static readonly double[] DefaultBuckets = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

        private readonly Lock _lock = new();
        private string[]? _tagKeys;
        private Collector? _metric;

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            try
            {
                var metric = _metric ?? Create(tags);
                var values = LabelValues(tags);
                switch (metric)
                {
                    case Counter counter:
                        var counterChild = values.Length == 0 ? (ICounter)counter : counter.WithLabels(values);
                        if (IsObservable)
                        {
                            counterChild.IncTo(value);
                        }
                        else if (value >= 0)
                        {
                            counterChild.Inc(value);
                        }

                        break;
                    case Gauge gauge:
                        var gaugeChild = values.Length == 0 ? (IGauge)gauge : gauge.WithLabels(values);
                        if (instrument is UpDownCounter<byte> or UpDownCounter<short> or UpDownCounter<int> or UpDownCounter<long>
                            or UpDownCounter<float> or UpDownCounter<double> or UpDownCounter<decimal>)
                        {
                            gaugeChild.Inc(value);
                        }
                        else
                        {
                            gaugeChild.Set(value);
                        }

                        break;
                    case Histogram histogram:
                        (values.Length == 0 ? (IHistogram)histogram : histogram.WithLabels(values)).Observe(value);
                        break;
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
            {
                // By design never throw into the instrumented code: a metric that cannot be exported is skipped.
                Trace.WriteLine($"tradestore: metric {instrument.Name} not exported: {ex.Message}");
            }
        }

        private bool IsObservable => instrument.IsObservable;

        private bool IsMonotonic => instrument.GetType().GetGenericTypeDefinition() is var type
            && (type == typeof(Counter<>) || type == typeof(ObservableCounter<>));

        private string[] LabelValues(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var keys = _tagKeys!;
            var values = new string[keys.Length];
            for (var i = 0; i < keys.Length; i++)
            {
                values[i] = string.Empty;
                foreach (var tag in tags)
                {
                    if (tag.Key == keys[i])
                    {
                        values[i] = Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? string.Empty;
                        break;
                    }
                }
            }

            return values;
        }

        /// <summary>
        /// By design the tag names of the first measurement fix the labels (Prometheus needs one label set per metric):
        /// a tag that appears only later is dropped, a missing one exports as an empty label.
        /// </summary>
        private Collector Create(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            lock (_lock)
            {
                if (_metric is not null)
                {
                    return _metric;
                }

                var keys = new List<string>();
                foreach (var tag in tags)
                {
                    keys.Add(tag.Key);
                }

                keys.Sort(StringComparer.Ordinal);
                var labelNames = keys.Select(Sanitize).ToArray();
                var name = PrometheusName(instrument.Name, instrument.Unit, IsMonotonic);
                var help = string.IsNullOrWhiteSpace(instrument.Description) ? instrument.Name : instrument.Description;
                _tagKeys = [.. keys];
                _metric = instrument.GetType().GetGenericTypeDefinition() switch
                {
                    var t when t == typeof(Counter<>) || t == typeof(ObservableCounter<>) => factory.CreateCounter(name, help, labelNames),
                    var t when t == typeof(Histogram<>) => factory.CreateHistogram(name, help, labelNames, new HistogramConfiguration { Buckets = Buckets() }),
                    _ => factory.CreateGauge(name, help, labelNames),
                };
                return _metric;
            }
        }

        private double[] Buckets()
        {
            var advice = instrument switch
            {
                Histogram<double> h => h.Advice?.HistogramBucketBoundaries?.ToArray(),
                Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                _ => null,
            };
            return advice is { Length: > 0 } ? advice : instrument.Unit == "s" ? SecondsBuckets : DefaultBuckets;
        }
    }
}
