using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;

namespace TradeStore.Bench;

/// <summary>Settings of <c>tradestore-bench alloc</c>.</summary>
public sealed record AllocationBenchmarkOptions(IReadOnlyList<string> Workloads, int Requests, int Warmup, int Concurrency, int SeedTrades, int Top, string? JsonPath);

/// <summary>One workload's figures: bytes the server allocated per request, and the types that took most of them.</summary>
public sealed record AllocationResult(string Workload, long Requests, long Errors, double BytesPerRequest, double SampledBytes, IReadOnlyList<AllocatedType> Types);

/// <summary>A type's share of the sampled allocations, and what that is per request.</summary>
public sealed record AllocatedType(string Type, double Share, double BytesPerRequest);

/// <summary>
/// What the server allocates per request, by workload, against a child <c>serve</c> on a fresh database: the exact bytes
/// from the runtime's own counter (<c>dotnet_gc_heap_total_allocated_bytes_total</c> on <c>/metrics</c>, read before and
/// after), and which types they were, from an EventPipe session on the server's process (the GC's <c>AllocationTick</c>
/// events, one per ~100 KB allocated, so the type split is a sample). With a large book in memory, the allocation rate
/// of requests sets how often young collections pause every request in flight.
/// </summary>
public static class AllocationBenchmark
{
    public static readonly string[] AllWorkloads = ["read", "list", "insert"];

    public static async Task<IReadOnlyList<AllocationResult>> RunAsync(AllocationBenchmarkOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        output.WriteLine($"machine: {MachineInfo.Describe().Summary}; load average {MachineInfo.LoadAverage()}");
        using var directory = new BenchDirectory();
        await using var server = await ServerProcess.StartAsync(directory.Path, null, new Dictionary<string, string>
        {
            ["TRADESTORE__SECURITY__REQUESTSPERSECOND"] = "0",
            ["TRADESTORE__SECURITY__CONCURRENTREQUESTS"] = "0",
        }, output, cancellationToken);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Concurrency + 2 }) { BaseAddress = server.Url };

        await SeedAsync(http, options.SeedTrades, cancellationToken);
        output.WriteLine($"seeded {options.SeedTrades:N0} trades in 50 accounts x 20 symbols");
        var results = new List<AllocationResult>();
        foreach (var workload in options.Workloads)
        {
            var load = new Load(http, workload, options.SeedTrades);
            // The hot paths compiled (tier 1) before anything is counted.
            await load.RunAsync(options.Warmup, options.Concurrency, cancellationToken);
            var result = await MeasureAsync(server.Pid, http, load, options, cancellationToken);
            results.Add(result);
            output.WriteLine(FormattableString.Invariant(
                $"{workload}: {result.Requests:N0} requests ({result.Errors:N0} errors), {result.BytesPerRequest:N0} bytes allocated per request by the server"));
            foreach (var type in result.Types)
            {
                output.WriteLine(FormattableString.Invariant($"  {type.Share,6:P1} {type.BytesPerRequest,8:N0} B/request  {type.Type}"));
            }
        }

        if (options.JsonPath is { } path)
        {
            await File.WriteAllTextAsync(path, JsonSerializer.Serialize(results, BenchJson.Options), cancellationToken);
        }

        return results;
    }

    private static async Task<AllocationResult> MeasureAsync(int pid, HttpClient http, Load load, AllocationBenchmarkOptions options, CancellationToken cancellationToken)
    {
        var byType = new Dictionary<string, double>(StringComparer.Ordinal);
        var client = new DiagnosticsClient(pid);
        var providers = new[] { new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, (long)ClrTraceEventParser.Keywords.GC) };
        // The client's calls are synchronous over a socket: never on a socket event thread of this process (Program.cs).
        using var session = await Task.Run(() => client.StartEventPipeSession(providers, requestRundown: false), cancellationToken);
        var reading = Task.Run(() =>
        {
            using var source = new EventPipeEventSource(session.EventStream);
            source.Clr.GCAllocationTick += e =>
            {
                var type = e.TypeName ?? "(unknown)";
                byType[type] = byType.GetValueOrDefault(type) + e.AllocationAmount64;
            };
            source.Process();
        }, CancellationToken.None);

        var before = await AllocatedBytesAsync(http, cancellationToken);
        var (requests, errors) = await load.RunAsync(options.Requests, options.Concurrency, cancellationToken);
        var after = await AllocatedBytesAsync(http, cancellationToken);
        await session.StopAsync(cancellationToken);
        await reading;

        var sampled = byType.Values.Sum();
        var perRequest = (after - before) / Math.Max(1, requests);
        var types = byType.OrderByDescending(t => t.Value).Take(options.Top)
            .Select(t => new AllocatedType(t.Key, t.Value / sampled, perRequest * t.Value / sampled)).ToList();
        return new AllocationResult(load.Workload, requests, errors, perRequest, sampled, types);
    }

    /// <summary>The server's <c>dotnet_gc_heap_total_allocated_bytes_total</c>.</summary>
    private static async Task<double> AllocatedBytesAsync(HttpClient http, CancellationToken cancellationToken)
    {
        foreach (var line in (await http.GetStringAsync("/metrics", cancellationToken)).Split('\n'))
        {
            if (MetricsLine.TryRead(line, out var name, out var value) && name == "dotnet_gc_heap_total_allocated_bytes_total")
            {
                return value;
            }
        }

        throw new InvalidOperationException("The server's /metrics has no dotnet_gc_heap_total_allocated_bytes_total.");
    }

    private static async Task SeedAsync(HttpClient http, int trades, CancellationToken cancellationToken)
    {
        for (var first = 0; first < trades; first += 1000)
        {
            var body = new StringBuilder();
            for (var i = first; i < Math.Min(trades, first + 1000); i++)
            {
                body.Append(Load.CreateBody("S", i)).Append('\n');
            }

            using var content = new StringContent(body.ToString(), Encoding.UTF8, "application/x-ndjson");
            using var response = await http.PostAsync("/v1/trades/batch", content, cancellationToken);
            response.EnsureSuccessStatusCode();
        }
    }

    /// <summary>One workload's requests: point reads and lists of the seeded trades, or single creates.</summary>
    private sealed class Load(HttpClient http, string workload, int seeded)
    {
        private long _next;

        public string Workload => workload;

        public static string CreateBody(string prefix, long n) => string.Create(CultureInfo.InvariantCulture,
            $$"""{"tradeId":"{{prefix}}-{{n}}","account":"ACC-{{n % 50}}","symbol":"SYM{{n % 20}}","side":"buy","quantity":"10","price":"101.25"}""");

        /// <summary>Sends <paramref name="count"/> requests over <paramref name="concurrency"/> connections; the answered and failed counts.</summary>
        public async Task<(long Requests, long Errors)> RunAsync(int count, int concurrency, CancellationToken cancellationToken)
        {
            long ok = 0, failed = 0, sent = 0;
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
            {
                var drain = new byte[64 * 1024];
                while (Interlocked.Increment(ref sent) <= count)
                {
                    var n = Interlocked.Increment(ref _next);
                    using var request = Request(n);
                    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                    await using (var body = await response.Content.ReadAsStreamAsync(cancellationToken))
                    {
                        while (await body.ReadAsync(drain, cancellationToken) > 0)
                        {
                        }
                    }

                    Interlocked.Increment(ref response.IsSuccessStatusCode ? ref ok : ref failed);
                }
            }));
            return (ok, failed);
        }

        private HttpRequestMessage Request(long n) => workload switch
        {
            "read" => new HttpRequestMessage(HttpMethod.Get, $"/v1/trades/S-{n % seeded}"),
            "list" => new HttpRequestMessage(HttpMethod.Get, $"/v1/trades?account=ACC-{n % 50}&limit=100"),
            _ => new HttpRequestMessage(HttpMethod.Post, "/v1/trades") { Content = new StringContent(CreateBody("A", n), Encoding.UTF8, "application/json") },
        };
    }
}
