using System.Net;
using System.Text;
using System.Text.Json;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// A full disk that makes DuckDB's checkpoint fail: DuckDB then invalidates the database ("database has been invalidated
/// because of a previous fatal error"), and nothing in the process can use it again. Found by an exploratory run: the
/// applier retried forever ("Already in a transaction."), readiness stayed unhealthy after space was freed, and the
/// process neither exited nor failed liveness. Now <c>serve</c> exits 7 saying why, and a new start (what the guard does)
/// with space replays the journal log: every acknowledged trade is there.
/// </summary>
[Collection(nameof(FaultCollection))]
public sealed class DuckDbInvalidatedFaultTests
{
    private const int BatchSize = 40;

    [Fact]
    public async Task Serve_CheckpointFailsForLackOfSpace_ExitsSevenExplainingAndANewStartWithSpaceHoldsEveryAcknowledgedTrade()
    {
        using var disk = SmallDisk.Mount(megabytes: 20);
        using var roomy = new TempDirectory("invalidated-copy");
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var acknowledged = new HashSet<string>(StringComparer.Ordinal);
        var statuses = new Dictionary<int, int>();
        int exitCode;
        string output;
        using (var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) })
        await using (var serve = TradeStoreProcess.Start(["serve", "--data", disk.Path, "--urls", url], Path.GetTempPath(), Settings))
        {
            await serve.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));

            // Batches of creates until the process stops by itself: the journal log fills the disk, and DuckDB's automatic
            // checkpoint (every 1 MB of WAL here) meets it full. The bound only keeps a broken build from hanging the run.
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
            for (var batch = 0; !serve.HasExited && DateTime.UtcNow < deadline; batch++)
            {
                if (!await SendBatchAsync(http, batch, acknowledged, statuses))
                {
                    await Task.Delay(50, TestContext.Current.CancellationToken); // the server is going away, or refused the whole batch
                }
            }

            exitCode = await serve.WaitForExitAsync(TimeSpan.FromSeconds(120));
            output = serve.Output;
        }

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{acknowledged.Count} acknowledged; item statuses {string.Join(", ", statuses.Select(s => $"{s.Key}: {s.Value}"))}");
        Assert.True(exitCode == 7, $"exit code {exitCode}:\n{Tail(output)}");
        Assert.True(acknowledged.Count > 0, "some writes were acknowledged before the disk filled");
        // Why, in the process's own output: DuckDB's words, that nothing acknowledged is lost, and that a start replays it.
        var explanation = output.Split('\n').FirstOrDefault(line => line.Contains("[2028]", StringComparison.Ordinal));
        Assert.True(explanation is not null, $"no event 2028:\n{Tail(output)}");
        // DuckDB's own words name the full disk. Usually its checkpoint meets it ("Failed to create checkpoint"), but
        // under load its WAL write can meet it first (seen in CI at 5fc8601); the promise below is the same either way.
        Assert.True(explanation.Contains("No space left on device", StringComparison.Ordinal), explanation);
        Assert.Contains("Nothing acknowledged is lost", explanation);
        Assert.Contains("a start replays", explanation);
        Assert.Contains("exit code 7", output.Split('\n').Single(line => line.Contains("[1005]", StringComparison.Ordinal)));
        Assert.DoesNotContain("Already in a transaction", output);
        Assert.DoesNotContain("Unhandled exception", output);

        // Space given back: the data directory copied to a roomy place, as an operator who cannot grow the disk would.
        CopyDirectory(disk.Path, roomy.Path);
        var (verifyExit, verifyOutput) = await TradeStoreProcess.RunAsync(["verify", "--data", roomy.Path], roomy.Path);
        Assert.True(verifyExit == 0, $"verify before the start, exit {verifyExit}:\n{verifyOutput}");
        // Normally DuckDB trails the log here (the writes acknowledged after DuckDB was invalidated): the start replays them.
        var replays = verifyOutput.Contains("to replay at start (seq", StringComparison.Ordinal);

        var restartUrl = $"http://127.0.0.1:{FreePort.Next()}";
        using var restartHttp = new HttpClient { BaseAddress = new Uri(restartUrl), Timeout = TimeSpan.FromSeconds(30) };
        await using var restarted = TradeStoreProcess.Start(["serve", "--data", roomy.Path, "--urls", restartUrl], Path.GetTempPath(), Settings);
        await restarted.WaitUntilAnsweringAsync($"{restartUrl}/health/ready", TimeSpan.FromSeconds(120));
        Assert.Equal(replays, restarted.Output.Contains("[2021]", StringComparison.Ordinal)); // the journal log replayed into DuckDB what it lacked

        var stored = await AcknowledgedWrites.ReadAllAsync(restartHttp);
        Assert.All(acknowledged, id => Assert.True(stored.ContainsKey(id), $"acknowledged {id} is missing"));
        // DuckDB itself holds them all, not only the state index: a query counts them.
        var text = await SqlProbe.QueryAsync(restartHttp, $"{restartUrl}/v1/query", "SELECT count(*) FROM trade_events");
        Assert.True(JsonDocument.Parse(text).RootElement.GetProperty("rows")[0][0].GetInt64() >= acknowledged.Count, text);
    }

    /// <summary>
    /// A checkpoint every 1 MB of DuckDB's WAL, so one meets the full disk; the request rate limit out of the way (this
    /// test is about the disk).
    /// </summary>
    private static readonly Dictionary<string, string> Settings = new()
    {
        ["TRADESTORE__STORAGE__CHECKPOINTTHRESHOLD"] = "1MB",
        ["TRADESTORE__SECURITY__REQUESTSPERSECOND"] = "10000000",
    };

    /// <summary>
    /// One batch of creates with some padding (the disk fills in seconds); records the acknowledged (201) ones. Every
    /// refusal must be one the fault explains: 500 storage-failure (the log could not take the batch on the full disk) or
    /// 503 unavailable (the engine stopped). <see langword="false"/> when nothing was acknowledged.
    /// </summary>
    private static async Task<bool> SendBatchAsync(HttpClient http, int batch, HashSet<string> acknowledged, Dictionary<int, int> statuses)
    {
        var pad = new string('x', 60);
        var ids = Enumerable.Range(0, BatchSize).Select(i => $"D-{batch}-{i}-{new string('y', 40)}").ToArray();
        var body = "[" + string.Join(",", ids.Select(id =>
            $$"""{"tradeId":"{{id}}","account":"ACC-F","symbol":"AAPL","side":"buy","quantity":"10","price":"100.5","venue":"{{pad}}","trader":"{{pad}}"}""")) + "]";
        string text;
        HttpStatusCode status;
        try
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await http.PostAsync("/v1/trades/batch", content, CancellationToken.None);
            status = response.StatusCode;
            text = await response.Content.ReadAsStringAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
        {
            return false; // the server stopped while the batch was in flight: none of it counts as acknowledged
        }

        if (status != HttpStatusCode.OK)
        {
            Assert.True(status == HttpStatusCode.ServiceUnavailable, $"batch {batch}: {(int)status} {text}");
            statuses[(int)status] = statuses.GetValueOrDefault((int)status) + 1;
            return false;
        }

        var any = false;
        foreach (var result in JsonDocument.Parse(text).RootElement.GetProperty("results").EnumerateArray())
        {
            var itemStatus = result.GetProperty("status").GetInt32();
            statuses[itemStatus] = statuses.GetValueOrDefault(itemStatus) + 1;
            if (itemStatus == 201)
            {
                acknowledged.Add(ids[result.GetProperty("index").GetInt32()]);
                any = true;
            }
            else
            {
                var problem = result.GetProperty("problem").GetRawText();
                Assert.True((itemStatus == 500 && problem.Contains("storage-failure", StringComparison.Ordinal)) ||
                    (itemStatus == 503 && problem.Contains("unavailable", StringComparison.Ordinal)), $"batch {batch}: {itemStatus} {problem}");
            }
        }

        return any;
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(directory.Replace(from, to, StringComparison.Ordinal));
        }

        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, file.Replace(from, to, StringComparison.Ordinal), overwrite: true);
        }
    }

    private static string Tail(string output) => output.Length > 8000 ? output[^8000..] : output;
}
