using System.Diagnostics.Metrics;
using TradeStore.Storage.Engine;

namespace TradeStore.Bench;

/// <summary>
/// Listens to one of the engine's histograms (for example the DuckDB apply lag or the batch size), so a run reports
/// the engine's own view: percentiles of a latency in seconds, or the mean of a count.
/// </summary>
internal sealed class InstrumentListener : IDisposable
{
    private readonly MeterListener _listener = new();
    private LatencyRecorder _recorder = new();
    private long _count;
    private double _sum;

    public InstrumentListener(string instrumentName)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == EngineMetricsNames.Meter && instrument.Name == instrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, value, _, _) => Add(value));
        _listener.SetMeasurementEventCallback<int>((_, value, _, _) => Add(value));
        _listener.Start();
    }

    /// <summary>Mean of the values since the last <see cref="Reset"/>.</summary>
    public double Mean
    {
        get
        {
            lock (_listener)
            {
                return _count == 0 ? 0 : _sum / _count;
            }
        }
    }

    /// <summary>Number of values since the last <see cref="Reset"/> (for a duration histogram: how many times it was timed).</summary>
    public long Count
    {
        get
        {
            lock (_listener)
            {
                return _count;
            }
        }
    }

    /// <summary>Percentiles of the values, read as seconds.</summary>
    public LatencySummary Summarize() => Volatile.Read(ref _recorder).Summarize();

    public void Reset()
    {
        lock (_listener)
        {
            _sum = 0;
            _count = 0;
            Volatile.Write(ref _recorder, new LatencyRecorder());
        }
    }

    public void Dispose() => _listener.Dispose();

    private void Add(double value)
    {
        lock (_listener)
        {
            _sum += value;
            _count++;
        }

        Volatile.Read(ref _recorder).Record(TimeSpan.FromSeconds(value));
    }
}
