using System.Diagnostics;
using System.Runtime.InteropServices;

namespace TradeStore.Bench;

/// <summary>
/// An open-loop load schedule: one send every 1/rate seconds whatever the answers, issued from a dedicated thread
/// that sleeps precisely until each send is due. Latency is counted from the scheduled time (coordinated-omission
/// correction), so any lateness of the generator itself would count against the system under test; how late the
/// sends actually left is recorded in <see cref="Lateness"/> and printed beside the results.
/// </summary>
public sealed class OpenLoopSchedule(int rate, TimeSpan duration)
{
    /// <summary>How long after its scheduled time each send left.</summary>
    public LatencyRecorder Lateness { get; } = new();

    /// <summary>
    /// Calls <paramref name="send"/> with each scheduled <see cref="Stopwatch"/> timestamp, then waits for every
    /// returned task; returns the seconds from the first scheduled send until the last task ended.
    /// </summary>
    public async Task<double> RunAsync(Func<long, Task> send, CancellationToken cancellationToken)
    {
        var total = (long)(rate * duration.TotalSeconds);
        var ticksPerSend = (double)Stopwatch.Frequency / rate;
        var pending = new List<Task>();
        var generated = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = Stopwatch.GetTimestamp();
        // By design a dedicated thread that sleeps (never spins: on two cores a spin takes the CPU from the system under
        // test) with nanosleep's microsecond precision; a thread-pool timer wakes 1–4 ms late here and that lateness
        // showed up as server latency.
        var generator = new Thread(() =>
        {
            try
            {
                for (long i = 0; i < total && !cancellationToken.IsCancellationRequested; i++)
                {
                    var scheduled = started + (long)(i * ticksPerSend);
                    PreciseSleep.Until(scheduled);
                    Lateness.RecordSince(scheduled);
                    pending.Add(send(scheduled));
                    if (pending.Count > 10_000)
                    {
                        pending.RemoveAll(t => t.IsCompleted);
                    }
                }

                generated.SetResult();
            }
            catch (Exception ex)
            {
                generated.SetException(ex);
            }
        })
        { IsBackground = true, Name = "open-loop-generator" };
        generator.Start();
        await generated.Task.ConfigureAwait(false);
        await Task.WhenAll(pending).ConfigureAwait(false);
        return Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>One line for the report: how late the sends left, which the latency figures include.</summary>
    public string Describe()
    {
        var late = Lateness.Summarize();
        return FormattableString.Invariant($"generator: sends left p50 {late.P50Ms * 1000:0} µs, p99 {late.P99Ms * 1000:0} µs, max {late.MaxMs * 1000:0} µs after their scheduled time (included in the latency)");
    }

    private static class PreciseSleep
    {
        public static void Until(long timestamp)
        {
            var remaining = timestamp - Stopwatch.GetTimestamp();
            if (remaining <= 0)
            {
                return;
            }

            var nanoseconds = (long)(remaining * (1_000_000_000.0 / Stopwatch.Frequency));
            if (OperatingSystem.IsLinux())
            {
                var request = new TimeSpec(nanoseconds / 1_000_000_000, nanoseconds % 1_000_000_000);
                _ = NanoSleep(in request, IntPtr.Zero);
            }
            else
            {
                Thread.Sleep(TimeSpan.FromTicks(Math.Max(1, nanoseconds / 100)));
            }
        }

        [DllImport("libc", EntryPoint = "nanosleep")]
        private static extern int NanoSleep(in TimeSpec request, IntPtr remaining);

        [StructLayout(LayoutKind.Sequential)]
        private readonly record struct TimeSpec(long Seconds, long Nanoseconds);
    }
}
