using TradeStore.Server.Api;
using TradeStore.Storage;
using TradeStore.Storage.Query;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Security;

/// <summary>
/// Queries run at nice 19, so on a machine whose cores are all busy at nice 0 a query can wait for the CPU past its
/// timeout. That is the machine's load, not the query's size: such a query is answered 503 <c>query-starved</c> with
/// <c>Retry-After</c> and the times it ran and waited, never 422 "narrow it". A statement the sandbox refuses is refused
/// at normal priority, so it is answered at once however busy the CPUs are. (Seen in clean-clone CI runs: a trivial
/// query and a refused <c>read_csv</c> both timed out while the suite kept both cores busy.) A query that runs for its
/// whole timeout is still 422 (<see cref="QueryRunnerTests"/>). These tests run alone: their busy cores would slow the
/// tests beside them.
/// </summary>
[Collection(nameof(QueryStarvationTests))]
public sealed class QueryStarvationTests : IDisposable
{
    /// <summary>Minutes of CPU in constant memory: only a timeout stops it.</summary>
    private const string EndlessScan = "SELECT count(*) FROM range(100000000000) WHERE hash(range) = 0";

    private readonly TempDirectory _directory = new("starved");
    private readonly DuckDbDatabase _database;

    public QueryStarvationTests() => _database = DuckDbDatabase.Open(_directory.DatabasePath);

    public void Dispose()
    {
        _database.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public async Task RunAsync_EveryCoreBusyAtNormalPriority_StarvedWithTheTimesItRanAndWaitedNotTimedOut()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the time a thread waits for a CPU is read from /proc on Linux");
        using var runner = new QueryRunner(new SqlSandbox(_database), new QueryLimits(10, 1 << 20, TimeSpan.FromSeconds(2), 1L << 40), 1, TimeProvider.System);

        QueryStarvedException starved;
        using (new BusyCores())
        {
            starved = await Assert.ThrowsAsync<QueryStarvedException>(() =>
                runner.RunAsync(EndlessScan, new JsonQueryResultWriter(), TestContext.Current.CancellationToken));
        }

        Assert.Equal(TimeSpan.FromSeconds(2), starved.Timeout);
        Assert.True(starved.Times.Waiting >= TimeSpan.FromSeconds(1), $"waited {starved.Times.Waiting}, ran {starved.Times.Running}");
        Assert.True(starved.Times.Running < starved.Times.Waiting, $"waited {starved.Times.Waiting}, ran {starved.Times.Running}");
    }

    [Fact]
    public async Task RunAsync_RefusedStatementWhileEveryCoreIsBusy_RefusedByTheCheckNotStarvedOrTimedOut()
    {
        using var runner = new QueryRunner(new SqlSandbox(_database), new QueryLimits(10, 1 << 20, TimeSpan.FromSeconds(10), 1L << 40), 1, TimeProvider.System);

        using (new BusyCores())
        {
            var refused = await Assert.ThrowsAsync<QueryRefusedException>(() =>
                runner.RunAsync("SELECT * FROM read_csv('/etc/passwd')", new JsonQueryResultWriter(), TestContext.Current.CancellationToken));
            Assert.Contains("read_csv", refused.Message);
        }
    }

    /// <summary>Host-level: the starved query's problem is 503 <c>query-starved</c> with <c>Retry-After</c>, and it changed nothing.</summary>
    [Collection(nameof(QueryStarvationTests))]
    public sealed class OverHttp : ApiTestBase
    {
        protected override Dictionary<string, string> Environment => new() { ["TRADESTORE__SECURITY__QUERY__TIMEOUT"] = "00:00:02" };

        [Fact]
        public async Task Query_EveryCoreBusy_503QueryStarvedWithRetryAfterAndTheTimesInTheDetail()
        {
            Assert.SkipUnless(OperatingSystem.IsLinux(), "the time a thread waits for a CPU is read from /proc on Linux");
            ApiAnswer answer;
            using (new BusyCores())
            {
                answer = await Api.PostAsync("/v1/query", $$"""{"sql":"{{EndlessScan}}"}""");
            }

            Assert.True(answer.Code == 503, answer.Raw);
            Assert.Equal("urn:tradestore:problem:query-starved", answer.ProblemType);
            Assert.Equal(TimeSpan.FromSeconds(5), answer.Headers.RetryAfter?.Delta);
            Assert.Matches(@"it ran only \d+ ms of it and waited \d+ ms for a CPU", answer.Body.GetProperty("detail").GetString());
        }
    }

    /// <summary>Two threads per core spinning at normal priority until disposed: every core busy, as a loaded machine is.</summary>
    private sealed class BusyCores : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread[] _threads;

        public BusyCores()
        {
            _threads = Enumerable.Range(0, 2 * Environment.ProcessorCount)
                .Select(i => new Thread(Spin) { IsBackground = true, Name = $"busy-{i}" })
                .ToArray();
            foreach (var thread in _threads)
            {
                thread.Start();
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            foreach (var thread in _threads)
            {
                thread.Join();
            }

            _stop.Dispose();
        }

        private void Spin()
        {
            var token = _stop.Token;
            while (!token.IsCancellationRequested)
            {
                Thread.SpinWait(1000);
            }
        }
    }
}

/// <summary>Runs <see cref="QueryStarvationTests"/> on their own, while no other test of this assembly runs.</summary>
[CollectionDefinition(nameof(QueryStarvationTests), DisableParallelization = true)]
public sealed class QueryStarvationCollection;
