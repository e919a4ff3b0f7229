using System.Net.Http.Json;
using System.Text.RegularExpressions;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// A <c>recover</c> that fails half way or is interrupted leaves the data directory as it found it, and every long offline
/// command stopped with Ctrl-C says in one line what it was doing and what it left. Before: Ctrl-C ended <c>recover</c>,
/// <c>verify</c> and <c>redis rebuild</c> at once with exit 130 and no line, and a failed or interrupted
/// <c>recover --from clickhouse</c> left a schema-only <c>tradestore.duckdb</c> on which <c>serve</c> started with an empty
/// book; after <c>--set-aside</c> the original files stayed in <c>damaged-&lt;time&gt;/</c>. Real processes, real signals,
/// a real ClickHouse and Redis; the history is large enough (200,000 events) that reading it takes seconds.
/// </summary>
public sealed class RecoverInterruptedTests : IDisposable
{
    private const int SigInt = 2;
    private const int Events = 200_000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly TempDirectory _work = new("recover-intr");
    private readonly string _clickHouseDatabase = $"intr_{Guid.NewGuid():N}";

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task RecoverFromClickHouse_VersionBreakHalfWay_ExitsOneAndLeavesNoDatabase()
    {
        await FillClickHouseAsync(breakVersionAt: Events / 2);

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["recover", "--from", "clickhouse", "--data", _work.Path], _work.Path, Environment(), Patience);

        Assert.True(exitCode == 1, $"exit code {exitCode}:\n{output}");
        Assert.Contains($"recover failed, nothing was written (the database it was building was removed): seq {Events / 2}: trade T-{Events / 2 - 1} goes from version 0 to 2", output);
        Assert.Empty(Directory.GetFileSystemEntries(_work.Path)); // no schema-only tradestore.duckdb for a serve to start on
    }

    [Fact]
    public async Task RecoverSetAside_FromClickHouseFailingHalfWay_PutsTheOriginalFilesBack()
    {
        await ServeSession.RunAsync(_work.Path, WriteTradesAsync);
        var before = DataDirectorySnapshot.Take(_work.Path);
        await FillClickHouseAsync(breakVersionAt: Events / 2);

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["recover", "--from", "clickhouse", "--set-aside", "--data", _work.Path], _work.Path, Environment(), Patience);

        Assert.True(exitCode == 1, $"exit code {exitCode}:\n{output}");
        Assert.Contains("--set-aside: moved", output);
        Assert.Contains($"the files --set-aside moved are back in {_work.Path}", output);
        before.AssertUnchanged();
    }

    [Fact]
    public async Task OfflineCommands_CtrlC_SayWhatTheyWereDoingAndWhatTheyLeftAndExit130()
    {
        await FillClickHouseAsync(breakVersionAt: null);

        // recover, while it reads ClickHouse's history: nothing left behind.
        await using (var recover = TradeStoreProcess.Start(["recover", "--from", "clickhouse", "--data", _work.Path], _work.Path, Environment()))
        {
            await recover.WaitForOutputAsync("recover: reading ", Patience);
            recover.Signal(SigInt);
            var exitCode = await recover.WaitForExitAsync(Patience);

            Assert.True(exitCode == 130, $"exit code {exitCode}:\n{recover.Output}");
            Assert.Matches(@"tradestore: recover interrupted \(SIGINT\) after reading \d+ of 200000 events from ClickHouse; nothing was written \(the database it was building was removed\)\.", recover.Output);
            Assert.Empty(Directory.GetFileSystemEntries(_work.Path));
        }

        var (recovered, output) = await TradeStoreProcess.RunAsync(["recover", "--from", "clickhouse", "--data", _work.Path], _work.Path, Environment(), Patience);
        Assert.True(recovered == 0, $"exit code {recovered}:\n{output}");
        var files = DataDirectorySnapshot.Take(_work.Path);

        // verify, in its DuckDB check: it changes nothing and says so, and where it was.
        await using (var verify = TradeStoreProcess.Start(["verify", "--data", _work.Path], _work.Path, Environment()))
        {
            await verify.WaitForOutputAsync("duckdb: Integrity check of", Patience);
            verify.Signal(SigInt);
            var exitCode = await verify.WaitForExitAsync(Patience);

            Assert.True(exitCode == 130, $"exit code {exitCode}:\n{verify.Output}");
            // Stopped within the step it was in (the DuckDB statement interrupted), named in the one line.
            Assert.Single(Regex.Matches(verify.Output, @"tradestore: verify interrupted \(SIGINT\) (during the DuckDB check, at (counting the trades|.+ \(step [1-5] of 5\))|" +
                @"during the journal log check); verify changes nothing: nothing was changed\.\n"));
        }

        files.AssertUnchanged();

        // redis rebuild, as it reads the 200,000 trades from DuckDB (a line now says so, as for verify --redis).
        var redis = Environment();
        redis["TRADESTORE__REDIS__CONNECTION"] = TestServers.Redis;
        redis["TRADESTORE__REDIS__KEYPREFIX"] = $"intr:{Guid.NewGuid():N}:";
        await using (var rebuild = TradeStoreProcess.Start(["redis", "rebuild", "--data", _work.Path], _work.Path, redis))
        {
            await rebuild.WaitForOutputAsync($"redis: reading the current state of {Events} live trades from DuckDB", Patience);
            rebuild.Signal(SigInt);
            var exitCode = await rebuild.WaitForExitAsync(Patience);

            Assert.True(exitCode == 130, $"exit code {exitCode}:\n{rebuild.Output}");
            Assert.Matches(@"tradestore: redis rebuild interrupted \(SIGINT\); (nothing was changed in Redis\.|Redis is part rebuilt: \d+ of 200000 trade hashes rewritten from DuckDB; " +
                @"positions and the checkpoint are still the old ones\. Run tradestore redis rebuild again to finish it\.)", rebuild.Output);
        }
    }

    /// <summary>
    /// ClickHouse holds <see cref="Events"/> creates, one trade each; with <paramref name="breakVersionAt"/> that seq's event is
    /// version 2 of a trade without a version 1, which the import refuses half way (after the reads before it).
    /// </summary>
    private async Task FillClickHouseAsync(int? breakVersionAt)
    {
        await ClickHouseAsync($"CREATE DATABASE {_clickHouseDatabase}");
        using (var elsewhere = new TempDirectory("recover-intr-migrate"))
        {
            var (exitCode, output) = await TradeStoreProcess.RunAsync(["migrate", "up", "--target", "clickhouse", "--data", elsewhere.Path], elsewhere.Path, Environment());
            Assert.True(exitCode == 0, output);
        }

        await ClickHouseAsync(
            $"INSERT INTO {_clickHouseDatabase}.trade_events (seq, trade_id, version, event_type, account, symbol, side, quantity, price, filled_quantity, " +
            "filled_notional, last_quantity, last_price, status, venue, trader, executed_at_us, created_at_us, recorded_at_us, idempotency_key) " +
            $"SELECT number + 1, concat('T-', toString(number)), if(number + 1 = {breakVersionAt ?? 0}, 2, 1), 'create', concat('ACC-', toString(number % 100)), " +
            "'SYM', 'buy', toDecimal64(10, 8), toDecimal64(2.5, 8), toDecimal64(0, 8), toDecimal128(0, 16), NULL, NULL, 'new', NULL, NULL, " +
            $"1767225600000000 + number, 1767225600000000 + number, 1767225600000000 + number, NULL FROM system.numbers LIMIT {Events}");
        await ClickHouseAsync(
            $"INSERT INTO {_clickHouseDatabase}.trade_state SELECT trade_id, version, seq, account, symbol, side, quantity, price, filled_quantity, " +
            $"filled_notional, status, venue, trader, executed_at_us, created_at_us, recorded_at_us FROM {_clickHouseDatabase}.trade_events");
    }

    private Dictionary<string, string> Environment() => new()
    {
        ["TRADESTORE__CLICKHOUSE__URL"] = TestServers.ClickHouse,
        ["TRADESTORE__CLICKHOUSE__DATABASE"] = _clickHouseDatabase,
    };

    private static async Task WriteTradesAsync(string url)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        for (var i = 1; i <= 3; i++)
        {
            using var created = await http.PostAsJsonAsync("/v1/trades",
                new { tradeId = $"I-{i}", account = "ACC-1", symbol = "AAPL", side = "buy", quantity = "10", price = "100.5" }, TestContext.Current.CancellationToken);
            created.EnsureSuccessStatusCode();
        }
    }

    private static async Task ClickHouseAsync(string sql)
    {
        using var client = new HttpClient();
        using var content = new StringContent(sql);
        using var response = await client.PostAsync(TestServers.ClickHouse, content, TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }
}
