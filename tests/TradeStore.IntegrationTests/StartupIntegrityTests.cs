using System.Net.Http.Json;
using TradeStore.Storage;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary><c>serve</c> checks the journal against the state before it accepts writes and refuses, changing nothing, when they disagree.</summary>
public sealed class StartupIntegrityTests : IDisposable
{
    private const int SigTerm = 15;
    private const int SigKill = 9;
    private readonly TempDirectory _work = new("integrity");

    public void Dispose() => _work.Dispose();

    [Theory]
    [InlineData("DELETE FROM trade_events WHERE seq = 3", "journal seq has gaps")]
    [InlineData("UPDATE trade_state SET filled_quantity = 2 WHERE trade_id = 'I-2'", "trade_state disagrees with the journal")]
    [InlineData("INSERT INTO sync_checkpoints VALUES ('redis', 999, TIMESTAMP '2026-01-01')", "checkpoint is ahead of the journal")]
    public async Task Serve_DamagedJournalOrState_RefusesWithReportAndChangesNothing(string damage, string expected)
    {
        await WriteTradesThroughServeAsync(count: 5);
        Execute(damage);
        var before = Snapshot();

        var (exitCode, output) = await TradeStoreProcess.RunAsync(
            ["serve", "--data", _work.Path, "--urls", $"http://127.0.0.1:{FreePort.Next()}"], _work.Path);

        Assert.True(exitCode == 5, $"exit code {exitCode}:\n{output}");
        Assert.Contains(expected, output);
        Assert.Contains("recover --from redis", output);
        Assert.Equal(before, Snapshot());
    }

    /// <summary>
    /// A first start against a ClickHouse without the TradeStore database warned (event 1004) that it "could not compare
    /// clickhouse with the journal" and that writes might be refused later, on every fresh deployment (seen in the
    /// session-34 soak): a store without the table holds no event, and is compared as such.
    /// </summary>
    [Fact]
    public async Task Serve_FreshClickHouseAndRedis_ComparedAsEmptyWithoutAWarning()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path, new Dictionary<string, string>
        {
            ["TRADESTORE__REDIS__CONNECTION"] = TestServers.Redis,
            ["TRADESTORE__REDIS__KEYPREFIX"] = $"fresh:{Guid.NewGuid():N}:",
            ["TRADESTORE__CLICKHOUSE__URL"] = TestServers.ClickHouse,
            ["TRADESTORE__CLICKHOUSE__DATABASE"] = $"fresh_{Guid.NewGuid():N}",
        });
        await child.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        // The sync creates ClickHouse's tables in the background, after readiness: stopped before, it never logs it
        // (a clean-clone CI stopped it 3 s in).
        await Eventually.TrueAsync(() => child.Output.Contains("Applied schema migration 0001_initial to clickhouse", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), () => $"ClickHouse's migration not logged; output:\n{child.Output}");
        child.Signal(SigTerm);
        Assert.Equal(0, await child.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        Assert.DoesNotContain("[1004]", child.Output);
        Assert.DoesNotContain("Could not compare", child.Output);
    }

    [Fact]
    public async Task Serve_VerifyOnStartOff_StartsDespiteProblem()
    {
        await WriteTradesThroughServeAsync(count: 3);
        Execute("DELETE FROM trade_events WHERE seq = 2");
        var url = $"http://127.0.0.1:{FreePort.Next()}";

        await using var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__STORAGE__VERIFYONSTART"] = "false" });
        await child.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        child.Signal(SigTerm);

        Assert.Equal(0, await child.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Verify_Offline_CleanThenReportsAGapAndChangesNothing()
    {
        await WriteTradesThroughServeAsync(count: 4);

        var (cleanExit, cleanOutput) = await TradeStoreProcess.RunAsync(["verify", "--data", _work.Path], _work.Path);
        Assert.True(cleanExit == 0, cleanOutput);
        Assert.Contains("8 events, 4 trades, state compared for all trades", cleanOutput);

        Execute("DELETE FROM trade_events WHERE seq = 5");
        var before = Snapshot();
        var (exitCode, output) = await TradeStoreProcess.RunAsync(["verify", "--data", _work.Path, "--sample-above", "2"], _work.Path);

        Assert.Equal(1, exitCode);
        Assert.Contains("after seq 4 comes 6", output);
        Assert.Contains("a sample of 2 of 4 trades", output);
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public async Task Serve_CorruptWal_ExitsFourAdvisingToMoveTheWalAsideWhichLosesNoAcknowledgedTrade()
    {
        // What a crash leaves: acknowledged trades in the journal log and DuckDB's WAL, none checkpointed into the file.
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using (var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path))
        {
            await child.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
            await WriteTradesAsync(url, count: 20);
            // A history read waits until DuckDB holds the trade: every write is committed into the WAL before the kill, however
            // slowly the applier (100 ms apart) runs on a loaded machine (a fixed 500 ms sleep stood in for this).
            using (var http = new HttpClient { BaseAddress = new Uri(url) })
            using (var history = await http.GetAsync("/v1/trades/I-20/history", TestContext.Current.CancellationToken))
            {
                history.EnsureSuccessStatusCode();
            }

            child.Signal(SigKill);
            await child.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        var wal = _work.DatabasePath + ".wal";
        var bytes = await File.ReadAllBytesAsync(wal, TestContext.Current.CancellationToken);
        for (var i = MiddleOfAPayload(bytes); i < bytes.Length; i++)
        {
            bytes[i] ^= 0x5A;
        }

        await File.WriteAllBytesAsync(wal, bytes, TestContext.Current.CancellationToken);

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["serve", "--data", _work.Path, "--urls", $"http://127.0.0.1:{FreePort.Next()}"], _work.Path);

        Assert.True(exitCode == 4, $"exit code {exitCode}:\n{output}");
        Assert.Contains("Move the WAL aside (keep it; do not delete it) and start again", output);
        var move = System.Text.RegularExpressions.Regex.Match(output, @"mv (\S+) (\S+)\.");
        Assert.True(move.Success, output);
        Assert.Equal(wal, move.Groups[1].Value);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(wal, TestContext.Current.CancellationToken));

        File.Move(move.Groups[1].Value, move.Groups[2].Value); // as advised
        url = $"http://127.0.0.1:{FreePort.Next()}";
        await using (var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path))
        {
            await child.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            using var page = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/v1/trades?limit=100", TestContext.Current.CancellationToken));
            Assert.Equal(20, page.RootElement.GetProperty("items").GetArrayLength()); // replayed from the journal log
            child.Signal(SigTerm);
            Assert.Equal(0, await child.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        Assert.Equal(bytes, await File.ReadAllBytesAsync(move.Groups[2].Value, TestContext.Current.CancellationToken)); // kept
    }

    /// <summary>
    /// Where to start damaging a DuckDB WAL so that DuckDB always sees the damage: in the middle of the payload of its
    /// middle entry, whose checksum then fails. By design not simply the middle of the file: damage that starts in an
    /// entry's size field makes the entry seem to run past the end of the file, which DuckDB takes for a torn tail
    /// and cuts silently (and the server then starts as it should). The WAL (version 2) is a version entry, then entries
    /// of [u64 size][u64 checksum][payload]; they are found as the one chain of sizes that ends exactly at the end of the file.
    /// </summary>
    private static int MiddleOfAPayload(byte[] wal)
    {
        for (var first = 1; first < Math.Min(wal.Length, 512); first++)
        {
            var payloads = new List<(int Start, int Length)>();
            var at = first;
            while (at + 16 <= wal.Length)
            {
                var size = BitConverter.ToUInt64(wal, at);
                if (size == 0 || size > (ulong)(wal.Length - at - 16))
                {
                    break;
                }

                payloads.Add((at + 16, (int)size));
                at += 16 + (int)size;
            }

            if (at == wal.Length && payloads.Count >= 3)
            {
                var (start, length) = payloads[payloads.Count / 2];
                return start + length / 2;
            }
        }

        throw new InvalidOperationException($"No chain of DuckDB WAL entries found in {wal.Length} bytes.");
    }

    private Task WriteTradesThroughServeAsync(int count) => ServeSession.RunAsync(_work.Path, url => WriteTradesAsync(url, count));

    private static async Task WriteTradesAsync(string url, int count)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        for (var i = 1; i <= count; i++)
        {
            using var created = await http.PostAsJsonAsync("/v1/trades",
                new { tradeId = $"I-{i}", account = "ACC-1", symbol = "AAPL", side = "buy", quantity = "10", price = "100.5" },
                TestContext.Current.CancellationToken);
            created.EnsureSuccessStatusCode();
            using var filled = await http.PostAsJsonAsync($"/v1/trades/I-{i}/fill", new { quantity = "4", price = "100.25" },
                TestContext.Current.CancellationToken);
            filled.EnsureSuccessStatusCode();
        }
    }

    private void Execute(string sql)
    {
        using var database = DuckDbDatabase.Open(_work.DatabasePath);
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private string Snapshot()
    {
        using var database = DuckDbDatabase.Open(_work.DatabasePath);
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT (SELECT string_agg(seq || ':' || trade_id || ':' || version, ',' ORDER BY seq) FROM trade_events)
                || '|' || (SELECT string_agg(trade_id || ':' || version || ':' || filled_quantity, ',' ORDER BY trade_id) FROM trade_state)
                || '|' || coalesce((SELECT string_agg(sink || ':' || last_seq, ',') FROM sync_checkpoints), '')
            """;
        return (string)command.ExecuteScalar()!;
    }
}
