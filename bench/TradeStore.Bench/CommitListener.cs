using System.Diagnostics.Metrics;
using TradeStore.Storage.Engine;

namespace TradeStore.Bench;

/// <summary>Listens to the engine's own commit-duration instrument, so a run reports where a batch's time went.</summary>
internal sealed class CommitListener : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _count;
    private double _sum;

    public CommitListener()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == EngineMetricsNames.Meter && instrument.Name == EngineMetricsNames.CommitDuration)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, value, _, _) =>
        {
            Interlocked.Increment(ref _count);
            lock (_listener)
            {
                _sum += value;
            }
        });
        _listener.Start();
    }

    /// <summary>Mean commit duration in milliseconds since the last <see cref="Reset"/>.</summary>
    public double MeanMilliseconds => _count == 0 ? 0 : _sum / _count * 1000;

    public void Reset()
    {
        lock (_listener)
        {
            _sum = 0;
            _count = 0;
        }
    }

    public void Dispose() => _listener.Dispose();
}
