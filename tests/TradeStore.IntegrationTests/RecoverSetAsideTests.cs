using System.Net.Http.Json;
using System.Text.Json;
using TradeStore.Storage;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// <c>recover --set-aside</c> empties the data directory, so it asks everything that can refuse first and a refusal
/// moves nothing: a source that is not configured (exit 2), one that does not answer (exit 1), a <c>serve</c> holding the
/// database (exit 3, naming its PID). Each test compares every file of the directory, names and bytes, before and after.
/// </summary>
public sealed class RecoverSetAsideTests : IDisposable
{
    private const int SigTerm = 15;
    private readonly TempDirectory _work = new("set-aside");

    public void Dispose() => _work.Dispose();

    [Theory]
    [InlineData("redis", "Redis:Connection is not set")]
    [InlineData("clickhouse", "ClickHouse is not configured")]
    public async Task RecoverSetAside_SourceNotConfigured_ExitsTwoAndMovesNothing(string source, string expected)
    {
        await WriteTradesThroughServeAsync(count: 3);
        var before = DataDirectorySnapshot.Take(_work.Path);

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["recover", "--from", source, "--set-aside", "--data", _work.Path], _work.Path);

        Assert.True(exitCode == 2, $"exit code {exitCode}:\n{output}");
        Assert.Contains(expected, output);
        Assert.DoesNotContain("moved", output);
        before.AssertUnchanged();
    }

    [Fact]
    public async Task RecoverSetAside_ClickHouseUnreachable_ExitsOneAndMovesNothing()
    {
        await WriteTradesThroughServeAsync(count: 3);
        var before = DataDirectorySnapshot.Take(_work.Path);
        using var refusing = new RefusingPort();

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["recover", "--from", "clickhouse", "--set-aside", "--data", _work.Path], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__CLICKHOUSE__URL"] = $"http://127.0.0.1:{refusing.Port}" });

        Assert.True(exitCode == 1, $"exit code {exitCode}:\n{output}");
        Assert.Contains("could not read ClickHouse", output);
        Assert.Contains("--set-aside moved nothing", output);
        before.AssertUnchanged();
        await AssertServesTradesAsync(count: 3);
    }

    [Fact]
    public async Task RecoverSetAside_WhileServeRuns_ExitsThreeNamingItsPidAndMovesNothing()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using (var serve = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path))
        {
            await serve.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
            await WriteTradesAsync(url, count: 2);
            var names = Directory.GetFileSystemEntries(_work.Path).Order(StringComparer.Ordinal).ToList();
            using var refusing = new RefusingPort();

            // ClickHouse is configured (the configuration check passes) but never answers: only the lock can stop it first.
            var (exitCode, output) = await TradeStoreProcess.RunAsync(["recover", "--from", "clickhouse", "--set-aside", "--data", _work.Path], _work.Path,
                new Dictionary<string, string> { ["TRADESTORE__CLICKHOUSE__URL"] = $"http://127.0.0.1:{refusing.Port}" });

            Assert.True(exitCode == 3, $"exit code {exitCode}:\n{output}");
            Assert.Contains($"locked by another process (PID {serve.Id})", output);
            Assert.DoesNotContain("moved", output);
            Assert.Equal(names, Directory.GetFileSystemEntries(_work.Path).Order(StringComparer.Ordinal).ToList());
            Assert.Empty(Directory.GetDirectories(_work.Path, "damaged-*"));

            await WriteTradesAsync(url, count: 3); // still writing into the files it opened, which are still in place
            serve.Signal(SigTerm);
            Assert.Equal(0, await serve.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        await AssertServesTradesAsync(count: 5); // nothing acknowledged, before or after the refusal, went missing
    }

    [Fact]
    public async Task RecoverSetAside_FromRedisHoldingTheWholeStream_MovesDatabaseWalAndJournalThenRebuildsEveryTrade()
    {
        var redis = new Dictionary<string, string>
        {
            ["TRADESTORE__REDIS__CONNECTION"] = TestServers.Redis,
            ["TRADESTORE__REDIS__KEYPREFIX"] = $"setaside:{Guid.NewGuid():N}:",
        };
        await WriteTradesThroughServeAsync(count: 4, redis);
        var before = DataDirectorySnapshot.Take(_work.Path);

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["recover", "--from", "redis", "--set-aside", "--data", _work.Path], _work.Path, redis);

        Assert.True(exitCode == 0, $"exit code {exitCode}:\n{output}");
        Assert.Contains("the journal log", output); // the message says journal/ is moved too
        var aside = Assert.Single(Directory.GetDirectories(_work.Path, "damaged-*"));
        foreach (var (name, bytes) in before.Files)
        {
            Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(aside, name), TestContext.Current.CancellationToken));
        }

        Assert.Contains("Recovered seq 1..4", output);
        await AssertServesTradesAsync(count: 4, redis);
    }

    /// <summary>
    /// Redis trails the journal log, so the last acknowledged events can be in the log only: the recovery cannot have them,
    /// and moving the log aside stranded them without a word. The warning names them and how to keep them, and doing what
    /// it says serves every trade.
    /// </summary>
    [Fact]
    public async Task RecoverSetAside_LogHoldsEventsRedisNeverGot_WarnsNamingThemAndItsAdviceKeepsThem()
    {
        var redis = new Dictionary<string, string>
        {
            ["TRADESTORE__REDIS__CONNECTION"] = TestServers.Redis,
            ["TRADESTORE__REDIS__KEYPREFIX"] = $"setaside:{Guid.NewGuid():N}:",
        };
        await WriteTradesThroughServeAsync(count: 4, redis);
        await WriteTradesThroughServeAsync(count: 3); // Redis not configured: these never reach it

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["recover", "--from", "redis", "--set-aside", "--data", _work.Path], _work.Path, redis);

        Assert.True(exitCode == 0, $"exit code {exitCode}:\n{output}");
        Assert.Contains("Recovered seq 1..4", output);
        var aside = Assert.Single(Directory.GetDirectories(_work.Path, "damaged-*"));
        var movedLog = Path.Combine(aside, "journal");
        Assert.Contains($"warning: the journal log --set-aside moved ({movedLog}/) holds intact records up to seq 7, past the 4 recovered: events 5..7 " +
            "were acknowledged but had not reached the source.", output);

        var live = Path.Combine(_work.Path, "journal");
        if (Directory.Exists(live))
        {
            Directory.Move(live, Path.Combine(aside, "journal.recovered"));
        }

        Directory.Move(movedLog, live);
        await AssertServesTradesAsync(count: 7, redis);
    }

    /// <summary>
    /// A recover killed (SIGKILL) right after its --set-aside move cannot put the files back: they stay in damaged-&lt;time&gt;/
    /// and the data directory is empty. Running the same recover again moved nothing, recovered seq 1..4 and said nothing of
    /// events 5..7, which only the log in that folder holds (crash audit, session 34). It now compares that log too.
    /// </summary>
    [Fact]
    public async Task RecoverSetAside_RerunAfterARecoverKilledPastItsMove_WarnsOfEventsOnlyTheEarlierMovedLogHolds()
    {
        var redis = new Dictionary<string, string>
        {
            ["TRADESTORE__REDIS__CONNECTION"] = TestServers.Redis,
            ["TRADESTORE__REDIS__KEYPREFIX"] = $"setaside:{Guid.NewGuid():N}:",
        };
        await WriteTradesThroughServeAsync(count: 4, redis);
        await WriteTradesThroughServeAsync(count: 3); // Redis not configured: these never reach it
        // What the killed recover left: its move done (the same call it makes), nothing moved back.
        var aside = DatabaseFiles.SetAside(Path.Combine(_work.Path, "tradestore.duckdb"));

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["recover", "--from", "redis", "--set-aside", "--data", _work.Path], _work.Path, redis);

        Assert.True(exitCode == 0, $"exit code {exitCode}:\n{output}");
        Assert.Contains("nothing to move (an earlier --set-aside left ", output);
        Assert.Contains($"journal in {aside})", output);
        Assert.Contains("Recovered seq 1..4", output);
        Assert.Contains($"warning: the journal log --set-aside moved ({Path.Combine(aside, "journal")}/) holds intact records up to seq 7, past the 4 recovered: " +
            "events 5..7 were acknowledged but had not reached the source.", output);
    }

    /// <summary>
    /// A lost disk's data directory does not exist yet, which is what the message for a missing database advises this
    /// command for ("To rebuild a lost database from Redis's whole stream, run tradestore recover --from redis --set-aside").
    /// Regression: it ended with an unhandled DirectoryNotFoundException and a stack trace (exit 134), looking for an
    /// earlier --set-aside's folder in the missing directory.
    /// </summary>
    [Fact]
    public async Task RecoverSetAside_FromRedisIntoAMissingDataDirectory_CreatesItAndRebuildsEveryTrade()
    {
        var redis = new Dictionary<string, string>
        {
            ["TRADESTORE__REDIS__CONNECTION"] = TestServers.Redis,
            ["TRADESTORE__REDIS__KEYPREFIX"] = $"setaside:{Guid.NewGuid():N}:",
        };
        await WriteTradesThroughServeAsync(count: 4, redis);
        var newDisk = Path.Combine(_work.Path, "new-disk", "data");

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["recover", "--from", "redis", "--set-aside", "--data", newDisk], _work.Path, redis);

        Assert.True(exitCode == 0, $"exit code {exitCode}:\n{output}");
        Assert.DoesNotContain("Unhandled exception", output);
        Assert.Contains($"--set-aside: there is no database, WAL or journal log at {Path.Combine(newDisk, "tradestore.duckdb")}; nothing to move.", output);
        Assert.Contains("Recovered seq 1..4", output);
        await AssertServesTradesAsync(count: 4, redis, newDisk);
    }

    private Task WriteTradesThroughServeAsync(int count, IDictionary<string, string>? environment = null) =>
        ServeSession.RunAsync(_work.Path, url => WriteTradesAsync(url, count), environment);

    private static async Task WriteTradesAsync(string url, int count)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        for (var i = 1; i <= count; i++)
        {
            using var created = await http.PostAsJsonAsync("/v1/trades",
                new { tradeId = $"S-{Guid.NewGuid():N}", account = "ACC-1", symbol = "AAPL", side = "buy", quantity = "10", price = "100.5" },
                TestContext.Current.CancellationToken);
            created.EnsureSuccessStatusCode();
        }
    }

    /// <summary>Starts <c>serve</c> on the directory and asserts it holds exactly <paramref name="count"/> trades.</summary>
    private async Task AssertServesTradesAsync(int count, IDictionary<string, string>? environment = null, string? directory = null)
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var child = TradeStoreProcess.Start(["serve", "--data", directory ?? _work.Path, "--urls", url], _work.Path, environment);
        await child.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        using var answer = await http.GetAsync("/v1/trades?limit=100", TestContext.Current.CancellationToken);
        var body = await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(answer.IsSuccessStatusCode, $"GET /v1/trades answered {(int)answer.StatusCode}: {body}\nserve's output:\n{child.Output}");
        using var page = JsonDocument.Parse(body);
        Assert.Equal(count, page.RootElement.GetProperty("items").GetArrayLength());
        child.Signal(SigTerm);
        Assert.Equal(0, await child.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }
}
