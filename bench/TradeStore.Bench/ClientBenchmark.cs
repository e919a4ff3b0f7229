using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Apache.Arrow.Ipc;
using TradeStore.Client;

namespace TradeStore.Bench;

/// <summary>Options of <c>tradestore-bench clients</c>.</summary>
public sealed record ClientBenchmarkOptions(Uri Url, int SeedTrades, string Sql, int Connections, TimeSpan Duration, int Rounds);

/// <summary>
/// The client libraries' costs against a running server: (1) one large query read whole into memory as JSON (typed by the
/// .NET client) and as an Arrow stream (Apache.Arrow), and (2) the overhead of <see cref="TradeStoreClient"/> over a bare
/// <see cref="HttpClient"/> sending the same requests, closed loop at C connections, rounds alternating so warm-up and
/// machine noise fall on both sides.
/// </summary>
public static class ClientBenchmark
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task RunAsync(ClientBenchmarkOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        await output.WriteLineAsync($"machine: {MachineInfo.Describe().Summary}; load average {MachineInfo.LoadAverage()}");
        using var http = NewHttp(options.Connections);
        var client = new TradeStoreClient(http, new TradeStoreClientOptions { BaseAddress = options.Url, Timeout = TimeSpan.FromMinutes(5) });
        await SeedAsync(client, options.SeedTrades, output, cancellationToken);
        await QueryFormatsAsync(client, options, output, cancellationToken);
        await OverheadAsync(options, output, cancellationToken);
    }

    private static HttpClient NewHttp(int connections) =>
        new(new SocketsHttpHandler { MaxConnectionsPerServer = connections, AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>The account whose trades the overhead runs read (each seed batch of 1,000 gives it 20).</summary>
    private const string ReadAccount = "ACC-07";

    /// <summary>
    /// Creates trades until the journal holds at least <paramref name="trades"/> events (batches of 1,000, four at a time),
    /// and at least one batch when no trade of <see cref="ReadAccount"/> exists: a server whose journal already held
    /// enough events of other accounts (another benchmark's) got none, and the overhead runs ended in an unhandled
    /// "No trades of ACC-07 to read" (exit 134).
    /// </summary>
    private static async Task SeedAsync(TradeStoreClient client, int trades, TextWriter output, CancellationToken cancellationToken)
    {
        var result = await client.QueryAsync("SELECT count(*) FROM trade_events", cancellationToken);
        var have = Convert.ToInt64(result.Rows[0][0], CultureInfo.InvariantCulture);
        var readable = false;
        await foreach (var _ in client.TradesAsync(new TradeFilter(Account: ReadAccount), cancellationToken))
        {
            readable = true;
            break;
        }

        if (have >= trades && readable)
        {
            await output.WriteLineAsync($"seed: the journal already holds {have:N0} events");
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var run = Guid.NewGuid().ToString("N")[..8];
        var batches = Math.Max(1, (int)Math.Ceiling((trades - have) / 1000.0));
        await Parallel.ForAsync(0, batches, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (b, ct) =>
        {
            var commands = Enumerable.Range(0, 1000).Select(i => BatchCommand.Create(new NewTrade($"CB-{run}-{b:D5}-{i:D3}", $"ACC-{i % 50:D2}", $"SYM{i % 200:D3}",
                i % 2 == 0 ? TradeSide.Buy : TradeSide.Sell, 1m + i % 100, 100m + (i % 1000) / 100m, Venue: "XNAS")));
            var answer = await client.BatchAsync(commands, ct);
            if (answer.Failed > 0)
            {
                throw new InvalidOperationException($"seed batch {b}: {answer.Failed} failed, e.g. {answer.Results.First(r => r.Problem is not null).Problem}");
            }
        });
        await output.WriteLineAsync(FormattableString.Invariant($"seed: {batches * 1000:N0} trades in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s"));
    }

    private static async Task QueryFormatsAsync(TradeStoreClient client, ClientBenchmarkOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        await output.WriteLineAsync($"query: {options.Sql}");
        for (var round = 1; round <= options.Rounds; round++)
        {
            var started = Stopwatch.GetTimestamp();
            var json = await client.QueryAsync(options.Sql, cancellationToken);
            var jsonSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;

            started = Stopwatch.GetTimestamp();
            long arrowRows = 0;
            await using (var stream = await client.QueryStreamAsync(options.Sql, QueryFormat.Arrow, cancellationToken))
            {
                using var reader = new ArrowStreamReader(stream);
                while (await reader.ReadNextRecordBatchAsync(cancellationToken) is { } batch)
                {
                    arrowRows += batch.Length;
                    batch.Dispose();
                }
            }

            var arrowSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            await output.WriteLineAsync(FormattableString.Invariant(
                $"query round {round}: JSON (typed rows) {json.Rows.Count:N0} rows in {jsonSeconds:0.00} s; Arrow stream {arrowRows:N0} rows in {arrowSeconds:0.00} s; JSON/Arrow {jsonSeconds / arrowSeconds:0.00}x"));
        }
    }

    private static async Task OverheadAsync(ClientBenchmarkOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        using var seedHttp = NewHttp(options.Connections);
        var seedClient = new TradeStoreClient(seedHttp, new TradeStoreClientOptions { BaseAddress = options.Url });
        var ids = new List<string>();
        await foreach (var trade in seedClient.TradesAsync(new TradeFilter(Account: ReadAccount), cancellationToken))
        {
            ids.Add(trade.TradeId);
            if (ids.Count == 10_000)
            {
                break;
            }
        }

        if (ids.Count == 0)
        {
            throw new TradeStore.Cli.CommandFailedException($"no trade of {ReadAccount} to read: the seed's trades are not listed (GET /v1/trades?account={ReadAccount}).");
        }

        await output.WriteLineAsync(FormattableString.Invariant($"overhead: GET /v1/trades/{{id}} over {ids.Count:N0} trades, {options.Connections} connections, {options.Duration.TotalSeconds:0} s per run"));
        var raw = new List<double>();
        var typed = new List<double>();
        for (var round = 1; round <= options.Rounds; round++)
        {
            foreach (var useClient in round % 2 == 1 ? new[] { false, true } : [true, false])
            {
                using var http = NewHttp(options.Connections);
                var client = new TradeStoreClient(http, new TradeStoreClientOptions { BaseAddress = options.Url });
                Func<string, CancellationToken, Task> read = useClient
                    ? async (id, ct) => await client.GetTradeAsync(id, ct)
                    : async (id, ct) =>
                    {
                        using var response = await http.GetAsync(new Uri(options.Url, $"v1/trades/{Uri.EscapeDataString(id)}"), ct);
                        response.EnsureSuccessStatusCode();
                        _ = await response.Content.ReadFromJsonAsync<Trade>(Json, ct);
                    };
                var rate = await ClosedLoopAsync(read, ids, options.Connections, options.Duration, cancellationToken);
                (useClient ? typed : raw).Add(rate);
                await output.WriteLineAsync(FormattableString.Invariant($"overhead round {round}: {(useClient ? "TradeStoreClient" : "raw HttpClient")} {rate:N0} reads/s"));
            }
        }

        var rawBest = raw.Max();
        var typedBest = typed.Max();
        await output.WriteLineAsync(FormattableString.Invariant(
            $"overhead: raw HttpClient best {rawBest:N0}/s (median {Median(raw):N0}), TradeStoreClient best {typedBest:N0}/s (median {Median(typed):N0}); client overhead {(1 - typedBest / rawBest) * 100:0.0}% (best), {(1 - Median(typed) / Median(raw)) * 100:0.0}% (median)"));
    }

    private static async Task<double> ClosedLoopAsync(Func<string, CancellationToken, Task> read, IReadOnlyList<string> ids, int connections, TimeSpan duration, CancellationToken cancellationToken)
    {
        long done = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var started = Stopwatch.GetTimestamp();
        stop.CancelAfter(duration);
        var workers = Enumerable.Range(0, connections).Select(w => Task.Run(async () =>
        {
            var i = w;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await read(ids[i % ids.Count], stop.Token);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }

                Interlocked.Increment(ref done);
                i += connections;
            }
        }, CancellationToken.None));
        await Task.WhenAll(workers);
        return Interlocked.Read(ref done) / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
