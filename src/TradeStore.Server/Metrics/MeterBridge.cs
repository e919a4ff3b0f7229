using System.Collections.Concurrent;
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
    private sealed class InstrumentExport
    {
        private const int CachedTags = 4;
        private static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
        private static readonly double[] DefaultBuckets = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

        private readonly Instrument _instrument;
        private readonly IMetricFactory _factory;
        private readonly Kind _kind;
        private readonly Lock _lock = new();
        // By design the labelled child is cached per tag-value tuple: prometheus-net's WithLabels allocates and
        // hashes strings, which costs microseconds per measurement on the write path.
        private readonly ConcurrentDictionary<TagValues, object> _children = new();
        private string[] _tagKeys = [];
        private Collector? _metric;

        public InstrumentExport(Instrument instrument, IMetricFactory factory)
        {
            _instrument = instrument;
            _factory = factory;
            var type = instrument.GetType().GetGenericTypeDefinition();
            _kind = type == typeof(Counter<>) ? Kind.CounterDelta
                : type == typeof(ObservableCounter<>) ? Kind.CounterCumulative
                : type == typeof(Histogram<>) ? Kind.Histogram
                : type == typeof(UpDownCounter<>) ? Kind.GaugeDelta
                : Kind.GaugeSet;
        }

        private enum Kind
        {
            CounterDelta,
            CounterCumulative,
            GaugeDelta,
            GaugeSet,
            Histogram,
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            try
            {
                var metric = _metric ?? Create(tags);
                var child = Child(metric, tags);
                switch (_kind)
                {
                    case Kind.CounterDelta when value >= 0:
                        ((ICounter)child).Inc(value);
                        break;
                    case Kind.CounterCumulative:
                        ((ICounter)child).IncTo(value);
                        break;
                    case Kind.GaugeDelta:
                        ((IGauge)child).Inc(value);
                        break;
                    case Kind.GaugeSet:
                        ((IGauge)child).Set(value);
                        break;
                    case Kind.Histogram:
                        ((IHistogram)child).Observe(value);
                        break;
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or InvalidCastException)
            {
                // By design never throw into the instrumented code: a metric that cannot be exported is skipped.
                Trace.WriteLine($"tradestore: metric {_instrument.Name} not exported: {ex.Message}");
            }
        }

        private object Child(Collector metric, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var keys = _tagKeys;
            if (keys.Length == 0)
            {
                return metric;
            }

            if (keys.Length > CachedTags)
            {
                return Labelled(metric, LabelValues(tags));
            }

            var key = new TagValues(Find(tags, keys, 0), Find(tags, keys, 1), Find(tags, keys, 2), Find(tags, keys, 3));
            if (!_children.TryGetValue(key, out var child))
            {
                child = _children.GetOrAdd(key, Labelled(metric, LabelValues(tags)));
            }

            return child;
        }

        private static object? Find(ReadOnlySpan<KeyValuePair<string, object?>> tags, string[] keys, int index)
        {
            if (index >= keys.Length)
            {
                return null;
            }

            foreach (var tag in tags)
            {
                if (tag.Key == keys[index])
                {
                    return tag.Value;
                }
            }

            return null;
        }

        private static object Labelled(Collector metric, string[] values) => metric switch
        {
            Counter counter => counter.WithLabels(values),
            Gauge gauge => gauge.WithLabels(values),
            Histogram histogram => histogram.WithLabels(values),
            _ => metric,
        };

        private string[] LabelValues(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var keys = _tagKeys;
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
                var monotonic = _kind is Kind.CounterDelta or Kind.CounterCumulative;
                var name = PrometheusName(_instrument.Name, _instrument.Unit, monotonic);
                var help = string.IsNullOrWhiteSpace(_instrument.Description) ? _instrument.Name : _instrument.Description;
                Collector metric = _kind switch
                {
                    Kind.CounterDelta or Kind.CounterCumulative => _factory.CreateCounter(name, help, labelNames),
                    Kind.Histogram => _factory.CreateHistogram(name, help, labelNames, new HistogramConfiguration { Buckets = Buckets() }),
                    _ => _factory.CreateGauge(name, help, labelNames),
                };
                _tagKeys = [.. keys];
                _metric = metric;
                return metric;
            }
        }

        private double[] Buckets()
        {
            var advice = _instrument switch
            {
                Histogram<double> h => h.Advice?.HistogramBucketBoundaries?.ToArray(),
                Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                _ => null,
            };
            return advice is { Length: > 0 } ? advice : _instrument.Unit == "s" ? SecondsBuckets : DefaultBuckets;
        }

        /// <summary>Up to four tag values in label order; equal tuples share one labelled child.</summary>
        private readonly record struct TagValues(object? A, object? B, object? C, object? D);
    }
}
