using System.Diagnostics;
using System.Globalization;
using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace TradeStore.Bench;

/// <summary>Settings of <c>tradestore-bench changes</c>.</summary>
public sealed record ChangeFeedBenchmarkOptions(int Rate, int Subscribers, TimeSpan Duration, TimeSpan Warmup, TimeSpan ThroughputDuration, TimeSpan ThroughputWarmup, int Concurrency, int BatchSize, string? JsonPath);

/// <summary>The figures of one run.</summary>
public sealed record ChangeFeedBenchmarkResult(
    int Rate,
    int Subscribers,
    long Written,
    long DeliveredPerSubscriberMin,
    LatencySummary Delivery,
    double ThroughputWithout,
    double ThroughputWith,
    string Machine,
    string LoadBefore,
    string LoadAfter)
{
    public double ThroughputRatio => ThroughputWithout <= 0 ? 0 : ThroughputWith / ThroughputWithout;
}

/// <summary>
/// <c>GET /v1/changes</c> against a child <c>serve</c> on fresh databases, over real HTTP:
/// (1) delivery latency (event <c>recordedAt</c> → parsed by a subscriber) with N subscribers while trades are written at a fixed
/// rate (open loop, NDJSON batches every 10 ms), checking every subscriber received every event; (2) closed-loop write
/// throughput with N subscribers draining their streams versus none.
/// </summary>
public static class ChangeFeedBenchmark
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);

    public static async Task<int> RunAsync(ChangeFeedBenchmarkOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        var machine = MachineInfo.Describe().Summary;
        var loadBefore = MachineInfo.LoadAverage();
        output.WriteLine($"machine: {machine}; load average {loadBefore}");

        output.WriteLine($"delivery: {options.Subscribers} subscribers, {options.Rate} trades/s for {options.Duration.TotalSeconds:0} s (first {options.Warmup.TotalSeconds:0} s not measured)");
        var (written, delivered, delivery) = await MeasureDeliveryAsync(options, output, cancellationToken);
        output.WriteLine(FormattableString.Invariant($"  written {written}, least delivered to one subscriber {delivered}; delivery {delivery}"));

        output.WriteLine($"throughput: closed loop, {options.Concurrency} posters of {options.BatchSize}-trade batches, {options.ThroughputDuration.TotalSeconds:0} s each after {options.ThroughputWarmup.TotalSeconds:0} s of warm-up");
        var without = await MeasureThroughputAsync(options, 0, output, cancellationToken);
        output.WriteLine(FormattableString.Invariant($"  no subscribers: {without:0} trades/s"));
        var with = await MeasureThroughputAsync(options, options.Subscribers, output, cancellationToken);
        output.WriteLine(FormattableString.Invariant($"  {options.Subscribers} subscribers: {with:0} trades/s ({with / without:P1} of none)"));

        var result = new ChangeFeedBenchmarkResult(options.Rate, options.Subscribers, written, delivered, delivery, without, with, machine, loadBefore, MachineInfo.LoadAverage());
        if (options.JsonPath is { } path)
        {
            await File.WriteAllTextAsync(path, JsonSerializer.Serialize(result, BenchJson.Options), cancellationToken);
        }

        output.WriteLine($"load average after: {result.LoadAfter}");
        return delivered == written ? 0 : 1;
    }

    private static async Task<(long Written, long Delivered, LatencySummary Delivery)> MeasureDeliveryAsync(ChangeFeedBenchmarkOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        using var directory = new BenchDirectory();
        await using var server = await ServerProcess.StartAsync(directory.Path, null, Environment(), output, cancellationToken);
        using var http = Client(server.Url, options.Subscribers + 64);
        var recorder = new LatencyRecorder();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var measureFrom = DateTimeOffset.UtcNow + options.Warmup;
        var counts = new long[options.Subscribers];
        var subscribers = Enumerable.Range(0, options.Subscribers)
            .Select(i => SubscribeAsync(http, recorder, measureFrom, count => counts[i] = count, stop.Token)).ToList();
        await Task.Delay(500, cancellationToken); // every subscriber connected

        var written = await WriteAtRateAsync(http, options.Rate, options.Duration, cancellationToken);
        var deadline = Stopwatch.StartNew();
        while (counts.Min() < written && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100, cancellationToken);
        }

        await stop.CancelAsync();
        await Task.WhenAll(subscribers);
        return (written, counts.Min(), recorder.Summarize());
    }

    private static async Task<double> MeasureThroughputAsync(ChangeFeedBenchmarkOptions options, int subscriberCount, TextWriter output, CancellationToken cancellationToken)
    {
        using var directory = new BenchDirectory();
        await using var server = await ServerProcess.StartAsync(directory.Path, null, Environment(), output, cancellationToken);
        using var http = Client(server.Url, subscriberCount + options.Concurrency + 16);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Here the subscribers only drain their streams, as remote clients would: the figure is the server's cost of
        // serving them, not this process's cost of parsing 10 streams on the same cores.
        var connected = Enumerable.Range(0, subscriberCount).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToList();
        var subscribers = connected.Select(c => DrainAsync(server.Url, c, stop.Token)).ToList();
        // Every stream is open before the first write.
        await Task.WhenAny(Task.WhenAll(connected.Select(c => c.Task)), Task.WhenAll(subscribers)).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        if (subscribers.FirstOrDefault(s => s.IsFaulted) is { } failed)
        {
            await failed;
        }

        // Warm-up, then the measured run. By design several seconds: each server is a fresh process, and with 2 s its
        // JIT was still compiling the hot paths through the measured run (12 % of the CPU in a profile), which moved
        // the ratio by tens of percent from one run to the next.
        await ClosedLoopAsync(http, options, "W", options.ThroughputWarmup, cancellationToken);
        var clock = Stopwatch.StartNew();
        var trades = await ClosedLoopAsync(http, options, "M", options.ThroughputDuration, cancellationToken);
        var rate = trades / clock.Elapsed.TotalSeconds;
        // A subscriber cut off for lagging keeps its connection for the final event's grace but receives nothing more:
        // the server's own count says whether all of them were served to the end.
        var cutOff = await LaggingDisconnectsAsync(http, cancellationToken);
        await stop.CancelAsync();
        var received = await Task.WhenAll(subscribers);
        if (received.Length > 0)
        {
            output.WriteLine(FormattableString.Invariant($"  subscribers received {received.Min() / 1e6:N0}-{received.Max() / 1e6:N0} MB each; cut off for lagging: {cutOff}"));
            if (cutOff > 0)
            {
                throw new InvalidOperationException($"{cutOff} of {subscriberCount} subscribers were cut off for lagging (Changes:MaxLagEvents): the throughput with subscribers would not count them.");
            }
        }

        return rate;
    }

    private static async Task<long> ClosedLoopAsync(HttpClient http, ChangeFeedBenchmarkOptions options, string prefix, TimeSpan duration, CancellationToken cancellationToken)
    {
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        long trades = 0;
        var next = 0L;
        var posters = Enumerable.Range(0, options.Concurrency).Select(async _ =>
        {
            while (Stopwatch.GetTimestamp() < end)
            {
                var first = Interlocked.Add(ref next, options.BatchSize) - options.BatchSize;
                if (await PostBatchAsync(http, prefix, first, options.BatchSize, cancellationToken))
                {
                    Interlocked.Add(ref trades, options.BatchSize);
                }
            }
        });
        await Task.WhenAll(posters);
        return trades;
    }

    /// <summary>Open loop: a batch of rate/100 trades every 10 ms, each sent without waiting for the previous; the number written.</summary>
    private static async Task<long> WriteAtRateAsync(HttpClient http, int rate, TimeSpan duration, CancellationToken cancellationToken)
    {
        var perTick = Math.Max(1, rate / 100);
        var ticks = (int)(duration / Tick);
        var pending = new List<Task<bool>>(ticks);
        var start = Stopwatch.GetTimestamp();
        for (var tick = 0; tick < ticks; tick++)
        {
            var due = start + (long)(tick * Tick.TotalSeconds * Stopwatch.Frequency);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken);
            }

            pending.Add(PostBatchAsync(http, "R", (long)tick * perTick, perTick, cancellationToken));
        }

        var results = await Task.WhenAll(pending);
        return (long)results.Count(ok => ok) * perTick;
    }

    private static async Task<bool> PostBatchAsync(HttpClient http, string prefix, long first, int count, CancellationToken cancellationToken)
    {
        var body = new StringBuilder(count * 110);
        for (var i = 0; i < count; i++)
        {
            body.Append(CultureInfo.InvariantCulture, $$"""{"tradeId":"{{prefix}}-{{first + i}}","account":"ACC-{{(first + i) % 50}}","symbol":"SYM{{(first + i) % 20}}","side":"buy","quantity":"10","price":"101.25"}""").Append('\n');
        }

        using var content = new StringContent(body.ToString(), Encoding.UTF8, "application/x-ndjson");
        using var response = await http.PostAsync("/v1/trades/batch", content, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return false;
        }

        // Every item must have been applied for the count to hold. Parsed from the stream: the answer to a batch is
        // larger than 85,000 bytes, and reading it into one string would start a full collection of this process's heap
        // every few batches (measured: 379 in one run), taking CPU from the server on the same cores.
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var answer = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken);
        return answer.RootElement.GetProperty("failed").GetInt32() == 0;
    }

    /// <summary>The server's <c>tradestore_changes_disconnects_total{reason="lagging"}</c>, read from its <c>/metrics</c>.</summary>
    private static async Task<long> LaggingDisconnectsAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var metrics = await http.GetStringAsync("/metrics", cancellationToken);
        double lagging = 0;
        foreach (var line in metrics.Split('\n'))
        {
            if (MetricsLine.TryRead(line, out var name, out var value) && name.StartsWith("tradestore_changes_disconnects", StringComparison.Ordinal)
                && line.Contains("reason=\"lagging\"", StringComparison.Ordinal))
            {
                lagging += value;
            }
        }

        return (long)lagging;
    }

    /// <summary>
    /// A subscriber that reads its stream as bytes: it counts the events and takes each one's <c>recordedAt</c> without
    /// building a string per event. By design not <c>SseParser</c>: ten subscribers of 10,000 events/s made 1.3 GB of
    /// strings in a 20 s run, and this process's collections then counted as delivery latency. An event counts as
    /// delivered when the read that completes its frame returns.
    /// </summary>
    private static async Task SubscribeAsync(HttpClient http, LatencyRecorder recorder, DateTimeOffset measureFrom, Action<long> progress, CancellationToken cancellationToken)
    {
        long count = 0;
        try
        {
            using var response = await http.GetAsync("/v1/changes", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            response.EnsureSuccessStatusCode();
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var reader = PipeReader.Create(body, new StreamPipeReaderOptions(bufferSize: 256 * 1024));
            while (true)
            {
                var read = await reader.ReadAsync(cancellationToken);
                var now = DateTimeOffset.UtcNow;
                var frames = new SequenceReader<byte>(read.Buffer);
                while (frames.TryReadTo(out ReadOnlySequence<byte> frame, "\n\n"u8))
                {
                    if (RecordedAt(frame) is not { } recordedAt)
                    {
                        continue; // a comment or the retry line
                    }

                    count++;
                    if (recordedAt >= measureFrom)
                    {
                        recorder.Record(now - recordedAt);
                    }
                }

                progress(count);
                reader.AdvanceTo(frames.Position, read.Buffer.End);
                if (read.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// A subscriber that only reads its stream and throws the bytes away, as a remote client costs this machine nothing:
    /// by design a bare socket with a 1 MiB buffer rather than HttpClient, whose chunked decoding of ten streams took
    /// about 7 % of the two cores from the server under test.
    /// </summary>
    /// <returns>The bytes it received; a stream the server closed before the end of the run (a lagging subscriber is cut off) fails the run.</returns>
    private static async Task<long> DrainAsync(Uri url, TaskCompletionSource connected, CancellationToken cancellationToken)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4 << 20 };
        var buffer = new byte[1 << 20];
        long total = 0;
        try
        {
            await socket.ConnectAsync(url.Host, url.Port, cancellationToken);
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /v1/changes HTTP/1.1\r\nHost: {url.Authority}\r\nAccept: text/event-stream\r\n\r\n"), cancellationToken);
            var received = await socket.ReceiveAsync(buffer, cancellationToken);
            if (received < 12 || !buffer.AsSpan(0, 12).SequenceEqual("HTTP/1.1 200"u8))
            {
                throw new InvalidOperationException($"GET /v1/changes answered: {Encoding.ASCII.GetString(buffer, 0, Math.Min(received, 200))}");
            }

            connected.TrySetResult();

            total = received;
            while (await socket.ReceiveAsync(buffer, cancellationToken) is var read and > 0)
            {
                total += read;
            }

            throw new InvalidOperationException($"The server closed a subscriber's stream after {total:N0} bytes, before the run ended (a lagging subscriber is cut off): the throughput with subscribers would not count them.");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return total;
        }
    }

    /// <summary>The <c>recordedAt</c> of an event's frame, found without parsing its JSON; <see langword="null"/> for a frame without data.</summary>
    private static DateTimeOffset? RecordedAt(ReadOnlySequence<byte> frame)
    {
        // A frame spans two buffers only at a read's boundary: copying that one is cheap enough.
        var bytes = frame.IsSingleSegment ? frame.FirstSpan : frame.ToArray();
        var key = "\"recordedAt\":\""u8;
        var start = bytes.IndexOf(key);
        if (start < 0)
        {
            return null;
        }

        var value = bytes[(start + key.Length)..];
        var end = value.IndexOf((byte)'"');
        Span<char> text = stackalloc char[64];
        if (end < 0 || end > text.Length)
        {
            return null;
        }

        var length = Encoding.ASCII.GetChars(value[..end], text);
        return DateTimeOffset.TryParse(text[..length], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed) ? parsed : null;
    }

    private static HttpClient Client(Uri url, int connections) =>
        new(new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = url,
            Timeout = Timeout.InfiniteTimeSpan,
        };

    /// <summary>No request limits. Redis and ClickHouse take part only when configured (run without them to measure the feed alone).</summary>
    private static Dictionary<string, string> Environment() => new()
    {
        ["TRADESTORE__SECURITY__REQUESTSPERSECOND"] = "0",
        ["TRADESTORE__SECURITY__CONCURRENTREQUESTS"] = "0",
        ["TRADESTORE__CHANGES__MAXSUBSCRIBERS"] = "1000",
    };
}
