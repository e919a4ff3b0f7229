using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace TradeStore.Server.Metrics;

/// <summary>
/// The process's own resources under the names Prometheus's client libraries give them
/// (<c>process_start_time_seconds</c>, <c>process_cpu_seconds_total</c>, <c>process_working_set_bytes</c>, …):
/// the restart alert and the dashboard read them, and OpenTelemetry's exporter has no process collector of its own.
/// Read at each scrape; nothing runs in between.
/// </summary>
public sealed class ProcessMetrics : IDisposable
{
    /// <summary>The meter of these instruments.</summary>
    public const string MeterName = "TradeStore.Process";

    private readonly Process _process = Process.GetCurrentProcess();
    private readonly Lock _lock = new();
    private readonly Meter _meter;

    public ProcessMetrics(IMeterFactory meterFactory)
    {
        var startTime = new DateTimeOffset(_process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0;
        _meter = meterFactory.Create(MeterName);
        _meter.CreateObservableGauge("process.start_time", () => startTime, "s", "Start time of the process since the Unix epoch.");
        _meter.CreateObservableCounter("process.cpu", () => Environment.CpuUsage.TotalTime.TotalSeconds, "s", "CPU time used by the process (user and system).");
        _meter.CreateObservableGauge("process.working_set", () => Environment.WorkingSet, "By", "Physical memory mapped to the process.");
        _meter.CreateObservableGauge("process.private_memory", () => Read(p => p.PrivateMemorySize64), "By", "Memory the process has allocated that no other process shares.");
        _meter.CreateObservableGauge("process.virtual_memory", () => Read(p => p.VirtualMemorySize64), "By", "Virtual memory the process has reserved.");
        _meter.CreateObservableGauge("process.open_handles", () => Read(p => p.HandleCount), "{handle}", "Open file descriptors and handles of the process.");
        _meter.CreateObservableGauge("process.num_threads", () => Read(p => p.Threads.Count), "{thread}", "Operating-system threads of the process.");
    }

    public void Dispose()
    {
        _meter.Dispose();
        _process.Dispose();
    }

    private long Read(Func<Process, long> value)
    {
        lock (_lock)
        {
            _process.Refresh();
            return value(_process);
        }
    }
}
