using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary><c>tradestore-bench</c> as an operator runs it: figures printed, JSON written, bad flags refused.</summary>
public sealed class BenchCommandTests : IDisposable
{
    private readonly TempDirectory _work = new("bench");

    [Fact]
    public async Task BenchEngine_ShortMixedRun_PrintsFiguresAndWritesJson()
    {
        var json = _work.File("result.json");

        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(
            ["engine", "--workload", "mixed", "--duration", "1", "--baseline-duration", "1", "--concurrency", "16", "--json", json], _work.Path);

        Assert.True(exitCode == 0, output);
        Assert.Contains("trades/s", output);
        Assert.Contains("engine/baseline", output);
        using var result = JsonDocument.Parse(await File.ReadAllTextAsync(json, TestContext.Current.CancellationToken));
        Assert.True(result.RootElement.GetProperty("acknowledged").GetInt64() > 0);
        Assert.True(result.RootElement.GetProperty("baselineTradesPerSecond").GetDouble() > 0);
        Assert.Matches(@"DuckDB applied [\d,]+ events/s during the run; [\d,]+ acknowledged events were not applied yet", output);
        var applied = result.RootElement.GetProperty("appliedPerSecond").GetDouble();
        var backlog = result.RootElement.GetProperty("applyBacklogAtEnd").GetInt64();
        // Every event acknowledged in the run (each one an event: no idempotency keys here) was either applied during it or still waiting at its end.
        var acknowledged = result.RootElement.GetProperty("acknowledged").GetInt64();
        Assert.InRange(applied * result.RootElement.GetProperty("seconds").GetDouble() + backlog, acknowledged - 1, acknowledged + 1);
        // On a busy machine DuckDB's first transaction can take longer than this 1 s run: then everything is backlog.
        if (applied > 0)
        {
            // Events per DuckDB transaction: at least one, at most the applier's cap (JournalApplier.MaxApplyBatch).
            Assert.InRange(result.RootElement.GetProperty("meanApplyBatch").GetDouble(), 1, 50_000);
        }
        else
        {
            Assert.Equal(acknowledged, backlog);
        }
        Assert.Empty(Directory.GetFiles(_work.Path, "*.duckdb"));
    }

    [Fact]
    public async Task BenchEngine_OpenLoopAfterPreload_SendsExactlyRateTimesDurationAndReportsGeneratorLateness()
    {
        var json = _work.File("open.json");

        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(
            ["engine", "--rate", "500", "--duration", "2", "--preload", "3000", "--baseline-duration", "1", "--json", json], _work.Path);

        Assert.True(exitCode == 0, output);
        Assert.Matches(@"generator: sends left p50 \d+ µs, p99 \d+ µs, max \d+ µs after their scheduled time", output);
        using var result = JsonDocument.Parse(await File.ReadAllTextAsync(json, TestContext.Current.CancellationToken));
        Assert.Equal(1_000, result.RootElement.GetProperty("acknowledged").GetInt64() + result.RootElement.GetProperty("refused").GetInt64());
        Assert.Equal("open", result.RootElement.GetProperty("mode").GetString());
        Assert.Equal(3_000, result.RootElement.GetProperty("preloaded").GetInt32());
        Assert.Contains("preloaded 3,000 trades", output);
    }

    [Fact]
    public async Task BenchAlloc_ReadsAndLists_BytesPerRequestFromTheServerAndTheTypesBehindThem()
    {
        var json = _work.File("alloc.json");

        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(
            ["alloc", "--workload", "read", "--workload", "list", "--requests", "2000", "--warmup", "200", "--seed-trades", "5000", "--top", "5", "--json", json], _work.Path);

        Assert.True(exitCode == 0, output);
        Assert.Matches(@"read: 2,000 requests \(0 errors\), [\d,]+ bytes allocated per request by the server", output);
        using var result = JsonDocument.Parse(await File.ReadAllTextAsync(json, TestContext.Current.CancellationToken));
        var workloads = result.RootElement.EnumerateArray().ToList();
        Assert.Equal(["read", "list"], workloads.Select(w => w.GetProperty("workload").GetString()));
        foreach (var workload in workloads)
        {
            Assert.Equal(2_000, workload.GetProperty("requests").GetInt64());
            // A request allocates something (Kestrel, routing), and far less than a megabyte.
            Assert.InRange(workload.GetProperty("bytesPerRequest").GetDouble(), 100, 1_000_000);
            // The sampled types came from the server's EventPipe session and split those bytes.
            var types = workload.GetProperty("types").EnumerateArray().ToList();
            Assert.InRange(types.Count, 1, 5);
            Assert.All(types, t => Assert.False(string.IsNullOrEmpty(t.GetProperty("type").GetString())));
            Assert.InRange(types.Sum(t => t.GetProperty("share").GetDouble()), 0.01, 1.0001);
        }

        // A list of 100 answers far more bytes than one trade: the counts are per workload, not one total.
        Assert.True(workloads[1].GetProperty("bytesPerRequest").GetDouble() > workloads[0].GetProperty("bytesPerRequest").GetDouble(), output);
    }

    [Fact]
    public async Task BenchChanges_ShortRun_EveryEventDeliveredAndEverySubscriberConnectedThroughTheThroughputRun()
    {
        var json = _work.File("changes.json");

        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(
            ["changes", "--rate", "500", "--subscribers", "2", "--duration", "2", "--warmup", "0", "--throughput-duration", "1", "--throughput-warmup", "1",
                "--concurrency", "2", "--batch", "50", "--json", json], _work.Path);

        Assert.True(exitCode == 0, output);
        Assert.Contains("written 1000, least delivered to one subscriber 1000", output);
        Assert.Contains("after 1 s of warm-up", output);
        Assert.Matches(@"subscribers received \d+-\d+ MB each; cut off for lagging: 0", output);
        using var result = JsonDocument.Parse(await File.ReadAllTextAsync(json, TestContext.Current.CancellationToken));
        Assert.True(result.RootElement.GetProperty("throughputWith").GetDouble() > 0);
        Assert.True(result.RootElement.GetProperty("throughputWithout").GetDouble() > 0);
    }

    [Fact]
    public async Task BenchIndex_SmallBook_MeasuresTheCursorPageAndPositionsAfterTheLists()
    {
        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(["index", "--trades", "5000", "--accounts", "5", "--symbols", "10"], _work.Path);

        // The next page keeps the first page's filters, which its cursor's checksum covers: it used to be refused (exit 134).
        Assert.True(exitCode == 0, output);
        Assert.Matches(@"index: next page of 100 by account \(cursor\): p50 \d+ µs, p99 \d+ µs, p99\.9 \d+ µs, max \d+ µs \([\d,]+ pages\)", output);
        Assert.Matches(@"index: positions of every account \(\d+ positions\)", output);
        Assert.Matches(@"index: positions of every account, page of 100 by cursor: p50 \d+ µs, p99 \d+ µs, p99\.9 \d+ µs, max \d+ µs \(3 pages, 50 positions a walk\)", output);
        Assert.DoesNotContain("Unhandled exception", output);
    }

    [Fact]
    public async Task BenchAlloc_SigtermDuringTheRun_StopsItsChildServerAndDeletesItsDatabase()
    {
        await using var run = await StartLongAllocRunAsync();

        run.Bench.Signal(15);
        var exitCode = await run.Bench.WaitForExitAsync(TimeSpan.FromMinutes(2));

        Assert.True(exitCode == 143, run.Bench.Output);
        Assert.Contains("terminated: stopping the run, its child servers and temporary files", run.Bench.Output);
        // Before, the runtime ended the bench at once: its child serve went on running and its folder stayed.
        Assert.False(Directory.Exists($"/proc/{run.Server}"), $"the child serve (pid {run.Server}) is still running\n{run.Bench.Output}");
        Assert.Empty(Directory.GetDirectories(run.Temp, "tradestore-bench-*"));
    }

    [Fact]
    public async Task BenchAlloc_SecondSigterm_KillsItsChildServerBeforeEndingAtOnce()
    {
        await using var run = await StartLongAllocRunAsync();

        // Paused, the server cannot stop on the first signal's SIGTERM: the second one comes while the bench waits for it.
        Assert.True(TradeStore.Guard.PosixSignals.Send(run.Server, TradeStore.Guard.PosixSignals.SigStop));
        run.Bench.Signal(15);
        await run.Bench.WaitForOutputAsync("terminated: stopping the run", TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        run.Bench.Signal(15);
        await run.Bench.WaitForExitAsync(TimeSpan.FromMinutes(1));

        // The second signal ended the bench before its finally blocks: the child serve ran on, orphaned, on its port.
        // Killed, it is gone once it has exited and been reaped (the bench does not wait for it): a moment on an idle
        // machine, longer on a starved one: waited for up to a minute (a guard, not a bound), not a fixed 5 s.
        await Eventually.TrueAsync(() => !Directory.Exists($"/proc/{run.Server}"), TimeSpan.FromMinutes(1),
            () => $"the child serve (pid {run.Server}) is still running\n{run.Bench.Output}");
    }

    [Fact]
    public async Task BenchHttp_SigtermWhileItsServerIsDown_ExitsWithTheSignalsCodeNotAnUnhandledException()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var server = TradeStoreProcess.Start(["serve", "--data", _work.File("data"), "--urls", url], _work.Path);
        await server.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        await using var bench = TradeStoreProcess.Start(["http", "--url", url, "--rate", "3000", "--duration", "120", "--warmup", "0"], _work.Path,
            assembly: TradeStoreProcess.BenchPath);
        await bench.WaitForOutputAsync("open loop at", TimeSpan.FromMinutes(1));
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);

        // The server goes away under the load (as in a soak that stops it), then the bench is stopped: requests still in
        // flight fail with "Connection refused" after the cancellation, which ended the bench with an unhandled exception (134).
        server.Signal(9);
        await server.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        bench.Signal(15);
        var exitCode = await bench.WaitForExitAsync(TimeSpan.FromMinutes(1));

        Assert.True(exitCode == 143, bench.Output);
        Assert.DoesNotContain("Unhandled exception", bench.Output);
    }

    [Fact]
    public async Task BenchHttp_BaselineWithJson_WritesTheBareEndpointsRunAndTheRatioToo()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var server = TradeStoreProcess.Start(["serve", "--data", _work.File("data"), "--urls", url], _work.Path);
        await server.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        var file = _work.File("http.json");

        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(
            ["http", "--url", url, "--concurrency", "2", "--duration", "1", "--warmup", "0", "--baseline", "--json", file], _work.Path);

        // The JSON held TradeStore's run alone: the bare endpoint's figures and the ratio were only printed.
        Assert.True(exitCode == 0, output);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken));
        var tradestore = json.RootElement.GetProperty("operationsPerSecond").GetDouble();
        var bare = json.RootElement.GetProperty("baseline").GetProperty("operationsPerSecond").GetDouble();
        Assert.True(tradestore > 0 && bare > 0, output);
        Assert.Equal(tradestore / bare, json.RootElement.GetProperty("fractionOfBaseline").GetDouble(), 6);
        Assert.Contains(FormattableString.Invariant($"of the bare endpoint's {bare:N0} ops/s"), output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchHttp_EveryRequestRefused_ExitsOneNamingTheStatuses()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var server = TradeStoreProcess.Start(["serve", "--data", _work.File("data"), "--urls", url], _work.Path);
        await server.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));

        // A --url with a path: every POST went to /v1/v1/trades and was a 404, and the bench exited 0 as if it had measured.
        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(["http", "--url", $"{url}/v1", "--concurrency", "2", "--duration", "1", "--warmup", "0"], _work.Path);

        Assert.True(exitCode == 1, output);
        Assert.Matches(@"tradestore-bench: no request succeeded \(404 × [\d,]+\): give the server's base address with --url", output);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("read")]
    [InlineData("list")]
    public async Task BenchHttp_BaselineWithReads_RefusedBeforeTheRun(string workload)
    {
        // Refused before the server is reached (nothing listens on port 1). The bare endpoint stores nothing: its reads were
        // 404s and its lists empty, and the run printed "0 % of the bare endpoint's 0 ops/s".
        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(["http", "--url", "http://127.0.0.1:1", "--workload", workload, "--baseline"], _work.Path);

        Assert.True(exitCode == 2, output);
        Assert.Contains($"tradestore-bench: --baseline compares writes with an endpoint that stores nothing: use it with --workload insert or mixed (got {workload}).", output,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchClients_JournalHoldsEnoughEventsOfOtherAccounts_SeedsTheAccountItReads()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var server = TradeStoreProcess.Start(["serve", "--data", _work.File("data"), "--urls", url], _work.Path);
        await server.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        using (var http = new HttpClient())
        {
            using var created = await http.PostAsync($"{url}/v1/trades", new StringContent(
                """{"tradeId":"OTHER-1","account":"OTHER","symbol":"S","side":"buy","quantity":1,"price":1}""", System.Text.Encoding.UTF8, "application/json"),
                TestContext.Current.CancellationToken);
            Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
        }

        // --seed 1: the journal already holds that many events, none of the account the overhead runs read.
        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(
            ["clients", "--url", url, "--seed", "1", "--sql", "SELECT * FROM trade_events LIMIT 10", "--connections", "2", "--duration", "1", "--rounds", "1"], _work.Path);

        // It skipped the seed and ended in an unhandled "No trades of ACC-07 to read: seed first (--seed)." (exit 134).
        Assert.True(exitCode == 0, output);
        Assert.Contains("seed: 1,000 trades in", output, StringComparison.Ordinal);
        Assert.Contains("overhead: GET /v1/trades/{id} over 20 trades", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchEngine_UnknownWorkload_RefusedNamingValue()
    {
        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(["engine", "--workload", "bulk"], _work.Path);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("bulk", output);
    }

    [Theory]
    [InlineData("engine --duration abc", "Cannot parse argument 'abc' for option '--duration' as a whole number.")]
    [InlineData("failover --nodes two", "Cannot parse argument 'two' for option '--nodes' as a whole number.")]
    [InlineData("http --url http://127.0.0.1:1 --rate fast", "Cannot parse argument 'fast' for option '--rate' as a whole number.")]
    public async Task Bench_NotANumberForANumberOption_OneLineAndExitTwo(string commandLine, string message)
    {
        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(commandLine.Split(' '), _work.Path);

        // The option's own range check used to read the value that did not parse: an unhandled exception, exit 134.
        Assert.True(exitCode == 2, output);
        Assert.Contains(message, output);
        Assert.DoesNotContain("Unhandled exception", output);
    }

    [Theory]
    [InlineData("engine --duration 0", "tradestore-bench: --duration must be 1 or greater.", "Run 'tradestore-bench engine --help' for usage.")]
    [InlineData("clients --url not-a-url", "tradestore-bench: --url must be an absolute http:// or https:// address; got 'not-a-url'.", "Run 'tradestore-bench clients --help' for usage.")]
    // It was taken as an etcd URL and failed after the checks with exit 1.
    [InlineData("failover --etcd notaurl", "tradestore-bench: --etcd: 'notaurl' is not an http:// or https:// address;", "Run 'tradestore-bench failover --help' for usage.")]
    // It was ignored: lists measured one at a time with nothing said.
    [InlineData("http --url http://127.0.0.1:1 --workload list --batch 100", "tradestore-bench: --batch applies to writes (--workload insert or mixed); a list is one request (got --batch 100).", "Run 'tradestore-bench http --help' for usage.")]
    // --help hid the unknown word: the root's help, exit 0.
    [InlineData("engin --help", "tradestore-bench: Unrecognized command or argument 'engin'.", "Run 'tradestore-bench --help' for usage.")]
    public async Task Bench_BadCommandLine_NamesTradestoreBenchAndItsUsage(string commandLine, string message, string usage)
    {
        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(commandLine.Split(' '), _work.Path);

        // It used to say "tradestore: ..." and "Run 'tradestore engine --help'", a command that does not exist.
        Assert.Equal(2, exitCode);
        Assert.Contains(message, output);
        Assert.Contains(usage, output);
    }

    /// <summary>
    /// A --json file the run cannot write (a directory, a missing directory): refused before the run; it used to be written
    /// after the whole run, where it died with an unhandled exception and its stack trace (exit 134).
    /// </summary>
    [Theory]
    [InlineData("engine", "/", "--json: / is a directory, not a file.")]
    [InlineData("http", "/no-such-dir/figures.json", "--json: the directory /no-such-dir does not exist.")]
    public async Task Bench_JsonFileUnwritable_RefusedBeforeTheRun(string command, string file, string message)
    {
        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(
            command == "http" ? ["http", "--url", "http://127.0.0.1:1", "--json", file] : [command, "--duration", "1", "--json", file], _work.Path);

        Assert.True(exitCode == 2, output);
        Assert.Contains($"tradestore-bench: {message}", output);
        Assert.DoesNotContain("Unhandled exception", output);
        Assert.False(Directory.Exists("/no-such-dir"));
    }

    [Fact]
    public async Task BenchAll_OutputBelowAFile_RefusedBeforeTheRun()
    {
        var file = _work.File("notes.md");
        await File.WriteAllTextAsync(file, "# notes\n", TestContext.Current.CancellationToken);

        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(["all", "--quick", "--duration", "1", "--list-trades", "1000", "--output", Path.Combine(file, "out")], _work.Path);

        // It ran the whole suite and then died creating the folder: an unhandled IOException (exit 134), the figures lost.
        Assert.True(exitCode == 2, output);
        Assert.Contains($"tradestore-bench: --output: {file} is a file, so {Path.Combine(file, "out")} cannot be a directory.", output, StringComparison.Ordinal);
        Assert.DoesNotContain("bench all:", output, StringComparison.Ordinal);
        Assert.Equal("# notes\n", await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task BenchHelp_NoDataOption_EveryRunUsesAFreshTemporaryDatabase()
    {
        var (helpExit, help) = await TradeStoreProcess.RunBenchAsync(["engine", "--help"], _work.Path);
        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(["engine", "--data", _work.File("data")], _work.Path);

        // --data was listed on every subcommand ("Default ./data") and read by none of them.
        Assert.Equal(0, helpExit);
        Assert.Contains("--config", help);
        Assert.DoesNotContain("--data", help);
        Assert.Equal(2, exitCode);
        Assert.Contains("tradestore-bench: Unrecognized command or argument '--data'", output);
        Assert.False(Directory.Exists(_work.File("data")));
    }

    [Theory]
    [InlineData("--warmup", "-1", "--warmup must be 0 or greater.")]
    [InlineData("--warmup", "30", "--warmup must be shorter than --duration.")]
    public async Task BenchRedis_WarmupOutOfRange_ExitsTwoNamingIt(string option, string value, string message)
    {
        // Refused before Redis is reached: the address given is one nothing listens on.
        var (exitCode, output) = await TradeStoreProcess.RunBenchAsync(["redis", "--duration", "30", option, value], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__Redis__Connection"] = "127.0.0.1:1" });

        Assert.Equal(2, exitCode);
        Assert.Contains(message, output);
    }

    public void Dispose() => _work.Dispose();

    /// <summary>
    /// Starts an <c>alloc</c> run far longer than any test, its temporary databases under a TMPDIR of this test's own (to
    /// look into afterwards), and waits for its child server.
    /// </summary>
    private async Task<LongAllocRun> StartLongAllocRunAsync()
    {
        var temp = Directory.CreateDirectory(_work.File("tmp")).FullName;
        var bench = TradeStoreProcess.Start(["alloc", "--workload", "read", "--requests", "100000000", "--warmup", "0", "--seed-trades", "100"], _work.Path,
            new Dictionary<string, string> { ["TMPDIR"] = temp }, assembly: TradeStoreProcess.BenchPath);
        await bench.WaitForOutputAsync(" answering at ", TimeSpan.FromMinutes(2));
        var server = int.Parse(Regex.Match(bench.Output, @"server: pid (\d+) answering").Groups[1].Value, CultureInfo.InvariantCulture);
        return new LongAllocRun(bench, server, temp);
    }

    /// <summary>An <c>alloc</c> run, its child server's pid and its TMPDIR; disposed, it kills a child server a failed test left running.</summary>
    private sealed record LongAllocRun(TradeStoreProcess Bench, int Server, string Temp) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            if (Directory.Exists($"/proc/{Server}"))
            {
                using var orphan = System.Diagnostics.Process.GetProcessById(Server);
                orphan.Kill();
            }

            await Bench.DisposeAsync();
        }
    }
}
