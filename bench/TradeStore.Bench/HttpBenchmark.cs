using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace TradeStore.Bench;

/// <summary>What <c>tradestore-bench http</c> runs against a running server.</summary>
public sealed record HttpBenchmarkOptions(
    Uri Url,
    string Workload = "insert",
    int? Rate = null,
    int Concurrency = 32,
    int Batch = 1,
    TimeSpan? Duration = null,
    string? ApiKey = null,
    string? JsonFile = null,
    int SeedTrades = 10_000,
    int? VerifyLimit = null,
    bool ReadBack = true,
    TimeSpan Warmup = default);

/// <summary>The figures of one HTTP run; also written as JSON with <c>--json</c>.</summary>
public sealed record HttpBenchmarkResult(
    string Workload,
    string Mode,
    int? OfferedRate,
    int Concurrency,
    int Batch,
    double Seconds,
    long Requests,
    double RequestsPerSecond,
    long Operations,
    double OperationsPerSecond,
    IReadOnlyDictionary<string, long> ErrorsByStatus,
    LatencySummary Latency,
    long Acknowledged,
    long Verified,
    long Missing,
    bool VerifiedAll,
    IReadOnlyList<ListPhaseResult>? ListPhases = null,
    HttpBenchmarkResult? Baseline = null,
    double? FractionOfBaseline = null);

/// <summary>
/// One measurement of the <c>list</c> workload: lists of 100 by <see cref="Scope"/> (<c>account</c> or
/// <c>account+symbol</c>), <see cref="When"/> <c>after seeding</c> (the sinks and the state flusher still catching up)
/// or <c>after catch-up</c>.
/// </summary>
public sealed record ListPhaseResult(string Scope, string When, double Seconds, long Requests, double RequestsPerSecond, long Errors, LatencySummary Latency);

/// <summary>
/// Load over the public HTTP API with a keep-alive <see cref="HttpClient"/>: open loop at a fixed request rate
/// (latency counted from each request's intended send time, which corrects coordinated omission) or closed loop
/// with C connections each waiting for its answer. Afterwards every acknowledged trade (or a random sample when
/// <see cref="HttpBenchmarkOptions.VerifyLimit"/> is set) is read back and must show at least its acknowledged version.
/// </summary>
public static class HttpBenchmark
{
    private static readonly TimeSpan SettleAfterSeeding = TimeSpan.FromSeconds(2);

    public static readonly string[] Workloads = ["insert", "mixed", "read", "list"];

    private static readonly string[] Accounts = [.. Enumerable.Range(0, 50).Select(i => $"ACC{i:D3}")];
    private static readonly string[] Symbols = [.. Enumerable.Range(0, 200).Select(i => $"SYM{i:D3}")];
    private static readonly MediaTypeHeaderValue JsonType = new("application/json");

    public static HttpClient CreateClient(Uri url, string? apiKey, int connections)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        var client = new HttpClient(handler) { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    /// <param name="aroundLoad">Called just before and just after the measured load (after seeding, before the read-back), so a caller can sample the server.</param>
    public static async Task<HttpBenchmarkResult> RunAsync(HttpBenchmarkOptions options, TextWriter output, CancellationToken cancellationToken, Func<bool, Task>? aroundLoad = null)
    {
        if (!Workloads.Contains(options.Workload))
        {
            throw new ArgumentException($"Unknown workload '{options.Workload}'; use {string.Join(", ", Workloads)}.", nameof(options));
        }

        var duration = options.Duration ?? TimeSpan.FromSeconds(10);
        var mode = options.Rate is { } offered ? $"open loop at {offered:N0} requests/s" : $"closed loop, {options.Concurrency} connections";
        output.WriteLine($"http: {options.Url} workload {options.Workload}, {mode}, batch {options.Batch}, {duration.TotalSeconds:0.#} s");

        // Open loop needs enough connections that a slow answer never delays the next scheduled send.
        using var client = CreateClient(options.Url, options.ApiKey, options.Rate is null ? options.Concurrency : Math.Max(256, options.Concurrency));
        await RequireAnswerAsync(client, options.Url, cancellationToken);
        var run = new Run(client, options, new HttpLedger(), $"H{Guid.NewGuid().ToString("N")[..8]}");
        if (options.Workload is "read" or "list")
        {
            var seeding = Stopwatch.StartNew();
            await run.SeedAsync(options.SeedTrades, cancellationToken);
            output.WriteLine(FormattableString.Invariant($"http: seeded {run.Ledger.Count:N0} trades in {seeding.Elapsed.TotalSeconds:0.0} s{(options.Workload == "read" ? $"; settling {SettleAfterSeeding.TotalSeconds:0} s" : "")}"));

            // By design the bench settles its own heap before measuring: the seeding left the ledger of every acknowledged
            // trade in its young generations, and their promotion later paused this process by 89-114 ms inside the first
            // measured window (EventPipe trace of the bench, 2026-12-01), which counted as server latency.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            if (options.Workload == "read")
            {
                // By design point reads are measured in steady state: right after a seed the server is still writing the
                // seeded trades' state (Engine:StateFlushInterval) and maybe checkpointing, which on two cores took p99 from ~2 to ~12 ms.
                // Lists are measured right after the seed on purpose, and again after catch-up (ListPhasesAsync).
                await Task.Delay(SettleAfterSeeding, cancellationToken);
            }
        }

        if (options.Warmup > TimeSpan.Zero && options.Workload is "insert" or "mixed")
        {
            // The same load first, on the same connections, neither counted nor read back: both servers compared with
            // --baseline then run JIT-compiled code (tier 1) in the measured window, not their first cold seconds.
            var warmup = new Run(client, options, new HttpLedger(), $"W{Guid.NewGuid().ToString("N")[..8]}");
            _ = options.Rate is { } warmRate
                ? await OpenLoopAsync(warmup, new OpenLoopSchedule(warmRate, options.Warmup), new LatencyRecorder(), cancellationToken)
                : await ClosedLoopAsync(warmup, options.Concurrency, options.Warmup, new LatencyRecorder(), cancellationToken);
            output.WriteLine(FormattableString.Invariant($"http: warmed up for {options.Warmup.TotalSeconds:0.#} s ({warmup.Requests:N0} requests, not measured)"));
        }

        var latency = new LatencyRecorder();
        if (aroundLoad is not null)
        {
            await aroundLoad(true);
        }

        OpenLoopSchedule? schedule = null;
        Task<double> MeasureAsync(LatencyRecorder recorder)
        {
            schedule = options.Rate is { } rate ? new OpenLoopSchedule(rate, duration) : null;
            return schedule is not null
                ? OpenLoopAsync(run, schedule, recorder, cancellationToken)
                : ClosedLoopAsync(run, options.Concurrency, duration, recorder, cancellationToken);
        }

        List<ListPhase>? phases = null;
        double seconds;
        if (options.Workload == "list")
        {
            phases = await ListPhasesAsync(client, run, MeasureAsync, output, cancellationToken);
            // The headline figures are the first phase's: lists by account right after seeding.
            latency = phases[0].LatencyRecorder;
            seconds = phases[0].Seconds;
            run.Restore(phases[0].Counters);
        }
        else
        {
            seconds = await MeasureAsync(latency);
        }

        // Interrupted (Ctrl-C): no figures from a cut-short run.
        cancellationToken.ThrowIfCancellationRequested();

        if (aroundLoad is not null)
        {
            await aroundLoad(false);
        }

        // A bare endpoint (--baseline) stores nothing, so there is nothing to read back.
        var (verified, missing, all) = options.ReadBack ? await VerifyAsync(run, options.VerifyLimit, cancellationToken) : (0L, 0L, true);
        var errors = run.Errors.OrderBy(e => e.Key, StringComparer.Ordinal).ToDictionary(e => e.Key, e => e.Value);
        var result = new HttpBenchmarkResult(options.Workload, options.Rate is null ? "closed" : "open", options.Rate, options.Concurrency, options.Batch, seconds,
            run.Requests, run.Requests / seconds, run.Operations, run.Operations / seconds, errors, latency.Summarize(), run.Ledger.Count, verified, missing, all,
            phases?.Select(p => p.Result).ToList());

        var unit = options.Workload is "read" or "list" ? "reads" : "trade commands";
        output.WriteLine(FormattableString.Invariant($"http: {result.Requests:N0} requests in {seconds:0.0} s = {result.RequestsPerSecond:N0} requests/s, {result.OperationsPerSecond:N0} {unit}/s acknowledged"));
        output.WriteLine($"http errors by status: {(errors.Count == 0 ? "none" : string.Join(", ", errors.Select(e => FormattableString.Invariant($"{e.Key} × {e.Value:N0}"))))}");
        output.WriteLine($"http latency: {result.Latency}");
        if (schedule is not null)
        {
            output.WriteLine(schedule.Describe());
        }

        output.WriteLine(options.ReadBack
            ? FormattableString.Invariant($"correctness: {result.Acknowledged:N0} acknowledged, {verified:N0} verified{(all ? "" : " (random sample)")}, {missing:N0} missing")
            : FormattableString.Invariant($"correctness: not read back ({result.Acknowledged:N0} answered by an endpoint that stores nothing)"));
        if (options.JsonFile is { } file)
        {
            await WriteJsonAsync(result, file, cancellationToken);
        }

        // Every request refused (a --url with a path: 404; no --api-key where keys are required: 401) measured nothing,
        // and exited 0 as if it had.
        if (result.Requests > 0 && errors.Values.Sum() >= result.Requests)
        {
            throw new TradeStore.Cli.CommandFailedException(
                $"no request succeeded ({string.Join(", ", errors.Select(e => FormattableString.Invariant($"{e.Key} × {e.Value:N0}")))}): give the server's base address with --url (e.g. http://127.0.0.1:5080) and, where it requires keys, one with --api-key.");
        }

        return result;
    }

    /// <summary>
    /// Refuses to measure an address where nothing answers: every request would fail in a millisecond, and the run
    /// printed those refusals as a request rate with latency percentiles, exit 0 (or, for read and list, died seeding
    /// with a stack trace). Any HTTP answer will do, whatever its status: the load's own errors are counted by status.
    /// </summary>
    /// <summary>Writes <paramref name="result"/> as JSON to <paramref name="file"/> (<c>--json</c>).</summary>
    public static Task WriteJsonAsync(HttpBenchmarkResult result, string file, CancellationToken cancellationToken) =>
        File.WriteAllTextAsync(file, JsonSerializer.Serialize(result, BenchJson.Options), cancellationToken);

    private static async Task RequireAnswerAsync(HttpClient client, Uri url, CancellationToken cancellationToken)
    {
        if (await Reachability.WhyNotAsync(client, new Uri(url, "health/live"), TimeSpan.FromSeconds(10), requireSuccess: false, cancellationToken) is { } reason)
        {
            throw new TradeStore.Cli.CommandFailedException($"nothing answers at {url} ({reason}): start the server first, or give its address with --url.");
        }
    }

    /// <summary>
    /// The <c>list</c> workload: lists of 100 by account, then by account and symbol, right after seeding (the state
    /// flusher and any sink still catching up); then, once <c>/metrics</c> shows them caught up, both again.
    /// </summary>
    private static async Task<List<ListPhase>> ListPhasesAsync(HttpClient client, Run run, Func<LatencyRecorder, Task<double>> measure, TextWriter output, CancellationToken cancellationToken)
    {
        var phases = new List<ListPhase>();
        foreach (var when in new[] { "after seeding", "after catch-up" })
        {
            if (when == "after catch-up")
            {
                await WaitForCatchUpAsync(client, output, cancellationToken);
            }

            foreach (var bySymbol in new[] { false, true })
            {
                run.ListBySymbol = bySymbol;
                run.Restore(new RunCounters(0, 0, []));
                var recorder = new LatencyRecorder();
                var seconds = await measure(recorder);
                var counters = run.Save();
                var result = new ListPhaseResult(bySymbol ? "account+symbol" : "account", when, seconds, counters.Requests, counters.Requests / seconds,
                    counters.Errors.Values.Sum(), recorder.Summarize());
                output.WriteLine(FormattableString.Invariant($"http list by {result.Scope}, {when}: {result.Requests:N0} lists in {seconds:0.0} s = {result.RequestsPerSecond:N0}/s, {result.Errors:N0} errors; {result.Latency}"));
                phases.Add(new ListPhase(result, recorder, counters, seconds));
            }
        }

        return phases;
    }

    /// <summary>
    /// Waits until the server's <c>/metrics</c> shows the <c>trade_state</c> flusher, ClickHouse and Redis (those that
    /// run) with nothing behind; without a readable <c>/metrics</c> it says so and does not wait.
    /// </summary>
    private static async Task WaitForCatchUpAsync(HttpClient client, TextWriter output, CancellationToken cancellationToken)
    {
        string[] gauges = ["tradestore_state_flush_lag", "tradestore_sync_events_behind", "tradestore_redis_lag_events"];
        var waiting = Stopwatch.StartNew();
        while (true)
        {
            Dictionary<string, double> behind;
            try
            {
                behind = ParseGauges(await client.GetStringAsync("metrics", cancellationToken), gauges);
            }
            catch (HttpRequestException ex)
            {
                output.WriteLine($"http: /metrics not readable ({ex.StatusCode?.ToString() ?? ex.Message}); measuring again without waiting for catch-up");
                return;
            }

            if (behind.Values.All(v => v == 0) || waiting.Elapsed > TimeSpan.FromMinutes(20))
            {
                output.WriteLine(FormattableString.Invariant($"http: after {waiting.Elapsed.TotalSeconds:0.0} s behind: {string.Join(", ", behind.Select(b => $"{b.Key} {b.Value:N0}"))}"));
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }

    /// <summary>Sums of the named gauges (over their label sets) in Prometheus text; gauges absent stay absent.</summary>
    internal static Dictionary<string, double> ParseGauges(string metrics, IReadOnlyCollection<string> names)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in metrics.Split('\n'))
        {
            if (MetricsLine.TryRead(line, out var name, out var value) && names.Contains(name))
            {
                values[name] = values.GetValueOrDefault(name) + value;
            }
        }

        return values;
    }

    private static async Task<double> ClosedLoopAsync(Run run, int concurrency, TimeSpan duration, LatencyRecorder latency, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker + 1);
            while (Stopwatch.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
            {
                var sent = Stopwatch.GetTimestamp();
                await run.OneRequestAsync(random, cancellationToken);
                latency.RecordSince(sent);
            }
        }, cancellationToken)).ToArray();
        await Task.WhenAll(workers);
        return Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>Requests on a fixed schedule whatever the answers; latency counts from the scheduled time.</summary>
    private static Task<double> OpenLoopAsync(Run run, OpenLoopSchedule schedule, LatencyRecorder latency, CancellationToken cancellationToken)
    {
        var random = new Random(1);
        return schedule.RunAsync(scheduled => Track(run.OneRequestAsync(new Random(random.Next()), cancellationToken), scheduled), cancellationToken);

        async Task Track(Task request, long scheduled)
        {
            await request;
            latency.RecordSince(scheduled);
        }
    }

    private static async Task<(long Verified, long Missing, bool All)> VerifyAsync(Run run, int? limit, CancellationToken cancellationToken)
    {
        var expected = run.Ledger.Snapshot(limit);
        var queue = new ConcurrentQueue<KeyValuePair<string, long>>(expected);
        long verified = 0;
        long missing = 0;
        var readers = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            while (queue.TryDequeue(out var trade))
            {
                if (await run.ReadVersionAsync(trade.Key, cancellationToken) >= trade.Value)
                {
                    Interlocked.Increment(ref verified);
                }
                else
                {
                    Interlocked.Increment(ref missing);
                }
            }
        }, cancellationToken)).ToArray();
        await Task.WhenAll(readers);
        return (verified, missing, expected.Count == run.Ledger.Count);
    }

    /// <summary>One run's client, generator state and counters.</summary>
    private sealed class Run(HttpClient client, HttpBenchmarkOptions options, HttpLedger ledger, string prefix)
    {
        /// <summary>How long one read-back keeps answering the server's requests to slow down.</summary>
        private static readonly TimeSpan ReadBackPatience = TimeSpan.FromMinutes(1);

        private long _nextId;
        private long _requests;
        private long _operations;

        public HttpLedger Ledger => ledger;

        /// <summary>The <c>list</c> workload: also filter by a symbol.</summary>
        public bool ListBySymbol { get; set; }

        public RunCounters Save() => new(Requests, Operations, new Dictionary<string, long>(Errors, StringComparer.Ordinal));

        public void Restore(RunCounters counters)
        {
            Interlocked.Exchange(ref _requests, counters.Requests);
            Interlocked.Exchange(ref _operations, counters.Operations);
            Errors.Clear();
            foreach (var (key, value) in counters.Errors)
            {
                Errors[key] = value;
            }
        }

        public ConcurrentDictionary<string, long> Errors { get; } = new(StringComparer.Ordinal);

        public long Requests => Interlocked.Read(ref _requests);

        public long Operations => Interlocked.Read(ref _operations);

        public async Task SeedAsync(int count, CancellationToken cancellationToken)
        {
            var chunks = Enumerable.Range(0, (count + 999) / 1000).Select(i => Math.Min(1000, count - (i * 1000))).ToArray();
            using var gate = new SemaphoreSlim(4);
            await Task.WhenAll(chunks.Select(async size =>
            {
                await gate.WaitAsync(cancellationToken);
                try
                {
                    var random = new Random(size ^ Environment.TickCount);
                    var items = Enumerable.Range(0, size).Select(_ => NewCreate(random)).ToArray();
                    await SendBatchAsync(items, cancellationToken);
                }
                finally
                {
                    gate.Release();
                }
            }));
            Interlocked.Exchange(ref _requests, 0);
            Interlocked.Exchange(ref _operations, 0);
            Errors.Clear();
        }

        /// <summary>One request of the workload; never throws for a server answer, only counts it.</summary>
        public async Task OneRequestAsync(Random random, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            try
            {
                switch (options.Workload)
                {
                    case "read":
                        await ReadAsync(ledger.RandomReadable(random) ?? "missing", cancellationToken);
                        break;
                    case "list":
                        await ListAsync(Accounts[random.Next(Accounts.Length)], ListBySymbol ? Symbols[random.Next(Symbols.Length)] : null, cancellationToken);
                        break;
                    default:
                        if (options.Batch > 1)
                        {
                            await SendBatchAsync([.. Enumerable.Range(0, options.Batch).Select(_ => NextCommand(random))], cancellationToken);
                        }
                        else
                        {
                            await SendSingleAsync(NextCommand(random), cancellationToken);
                        }

                        break;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException && !cancellationToken.IsCancellationRequested)
            {
                Errors.AddOrUpdate(ex.GetType().Name, 1, (_, n) => n + 1);
            }
        }

        /// <summary>
        /// The version the server shows for a trade now, or 0 when it is not there. Retried on transport errors and other
        /// failures (three times), and whenever the server asks the reader to slow down (429, 503: after its
        /// <c>Retry-After</c>, for up to <see cref="ReadBackPatience"/>): the read-back of a fast run goes past
        /// <c>Security:RequestsPerSecond</c>, and a trade read as refused was counted missing.
        /// </summary>
        public async Task<long> ReadVersionAsync(string tradeId, CancellationToken cancellationToken)
        {
            var patience = Stopwatch.StartNew();
            for (var failures = 0; ;)
            {
                TimeSpan? slowDown = null;
                try
                {
                    using var response = await client.GetAsync($"v1/trades/{tradeId}", cancellationToken);
                    if (response.StatusCode == HttpStatusCode.NotFound)
                    {
                        return 0;
                    }

                    if (response.IsSuccessStatusCode)
                    {
                        return ReadTrade(await response.Content.ReadAsByteArrayAsync(cancellationToken)).Version;
                    }

                    if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable && patience.Elapsed < ReadBackPatience)
                    {
                        slowDown = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
                    }
                }
                catch (HttpRequestException) when (failures < 3)
                {
                }

                if (slowDown is null && ++failures > 3)
                {
                    return 0;
                }

                await Task.Delay(slowDown ?? TimeSpan.FromMilliseconds(100 * failures), cancellationToken);
            }
        }

        private Command NextCommand(Random random)
        {
            if (options.Workload == "mixed" && random.Next(2) == 0 && ledger.Take(random) is { } existing)
            {
                var price = Price(random);
                return random.Next(2) == 0
                    ? new Command("amend", existing.Id, $"{{\"expectedVersion\":{existing.Version},\"price\":{price}}}")
                    : new Command("fill", existing.Id, $"{{\"quantity\":1,\"price\":{price}}}");
            }

            return NewCreate(random);
        }

        private Command NewCreate(Random random)
        {
            var id = $"{prefix}-{Interlocked.Increment(ref _nextId).ToString(CultureInfo.InvariantCulture)}";
            // Large quantities so fills of 1 never exhaust a trade within a run.
            var body = $"{{\"tradeId\":\"{id}\",\"account\":\"{Accounts[random.Next(Accounts.Length)]}\",\"symbol\":\"{Symbols[random.Next(Symbols.Length)]}\",\"side\":\"{(random.Next(2) == 0 ? "buy" : "sell")}\",\"quantity\":1000000,\"price\":{Price(random)},\"venue\":\"XNAS\",\"trader\":\"bench\"}}";
            return new Command("create", id, body);
        }

        private static string Price(Random random) => (100 + (random.Next(10_000) / 100m)).ToString(CultureInfo.InvariantCulture);

        private async Task SendSingleAsync(Command command, CancellationToken cancellationToken)
        {
            var path = command.Type == "create" ? "v1/trades" : $"v1/trades/{command.TradeId}/{command.Type}";
            using var content = new StringContent(command.Body, Encoding.UTF8);
            content.Headers.ContentType = JsonType;
            using var response = await client.PostAsync(path, content, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                // The trade leaves the amend/fill pool; its last acknowledged version is still checked at the end.
                Errors.AddOrUpdate(((int)response.StatusCode).ToString(CultureInfo.InvariantCulture), 1, (_, n) => n + 1);
                return;
            }

            var trade = ReadTrade(await response.Content.ReadAsByteArrayAsync(cancellationToken));
            Interlocked.Increment(ref _operations);
            ledger.Acknowledge(command.TradeId, trade.Version, options.Workload == "mixed");
        }

        private async Task SendBatchAsync(Command[] commands, CancellationToken cancellationToken)
        {
            var body = new StringBuilder(commands.Length * 220).Append('[');
            foreach (var command in commands)
            {
                if (body.Length > 1)
                {
                    body.Append(',');
                }

                // A batch item is the single endpoint's body plus "type" (and "tradeId" for amends and fills).
                body.Append("{\"type\":\"").Append(command.Type).Append('"');
                if (command.Type != "create")
                {
                    body.Append(",\"tradeId\":\"").Append(command.TradeId).Append('"');
                }

                body.Append(',').Append(command.Body, 1, command.Body.Length - 1);
            }

            using var content = new StringContent(body.Append(']').ToString(), Encoding.UTF8);
            content.Headers.ContentType = JsonType;
            using var response = await client.PostAsync("v1/trades/batch", content, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                Errors.AddOrUpdate(((int)response.StatusCode).ToString(CultureInfo.InvariantCulture), 1, (_, n) => n + 1);
                return;
            }

            using var document = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
            foreach (var item in document.RootElement.GetProperty("results").EnumerateArray())
            {
                var status = item.GetProperty("status").GetInt32();
                if (status is >= 200 and < 300 && item.TryGetProperty("trade", out var trade))
                {
                    Interlocked.Increment(ref _operations);
                    ledger.Acknowledge(trade.GetProperty("tradeId").GetString()!, trade.GetProperty("version").GetInt64(), options.Workload == "mixed");
                }
                else
                {
                    Errors.AddOrUpdate($"item {status.ToString(CultureInfo.InvariantCulture)}", 1, (_, n) => n + 1);
                }
            }
        }

        private async Task ReadAsync(string tradeId, CancellationToken cancellationToken)
        {
            using var response = await client.GetAsync($"v1/trades/{tradeId}", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            await DrainAsync(response, cancellationToken);
            Count(response.StatusCode);
        }

        private async Task ListAsync(string account, string? symbol, CancellationToken cancellationToken)
        {
            var path = symbol is null ? $"v1/trades?account={account}&limit=100" : $"v1/trades?account={account}&symbol={symbol}&limit=100";
            using var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            await DrainAsync(response, cancellationToken);
            Count(response.StatusCode);
        }

        /// <summary>
        /// Reads a whole answer into a pooled buffer and drops it: a read counts once its last byte is in. By design not
        /// buffered into a new array: a list of 100 is ~40 KB, and at 1,000 lists/s this process's own collections
        /// (it runs on the server's cores) were counted as the server's latency.
        /// </summary>
        private static async Task DrainAsync(HttpResponseMessage response, CancellationToken cancellationToken)
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
            try
            {
                while (await body.ReadAsync(buffer, cancellationToken) > 0)
                {
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        private void Count(HttpStatusCode status)
        {
            if (status == HttpStatusCode.OK)
            {
                Interlocked.Increment(ref _operations);
            }
            else
            {
                Errors.AddOrUpdate(((int)status).ToString(CultureInfo.InvariantCulture), 1, (_, n) => n + 1);
            }
        }

        /// <summary>Reads <c>version</c> from a trade body without building a document (the generator shares the server's two cores).</summary>
        private static (long Version, bool Found) ReadTrade(byte[] body)
        {
            var reader = new Utf8JsonReader(body);
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("version"u8))
                {
                    reader.Read();
                    return (reader.GetInt64(), true);
                }
            }

            throw new JsonException("The trade response has no version.");
        }
    }

    /// <summary>A run's counters at one moment.</summary>
    private sealed record RunCounters(long Requests, long Operations, Dictionary<string, long> Errors);

    /// <summary>One list measurement with what the headline result needs of it.</summary>
    private sealed record ListPhase(ListPhaseResult Result, LatencyRecorder LatencyRecorder, RunCounters Counters, double Seconds);

    /// <summary>One trade command: its type, trade and single-endpoint JSON body.</summary>
    private sealed record Command(string Type, string TradeId, string Body);
}
