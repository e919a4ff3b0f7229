using TradeStore.TestSupport;

namespace TradeStore.Redis.Tests;

/// <summary>
/// The arrange of a rebuild, verify or recovery test: a key prefix of its own on the shared test Redis, a throw-away
/// directory with a <see cref="TestJournal"/> on its DuckDB file, and <see cref="ProjectAsync"/> to commit a book with
/// the real projector writing it into Redis. Disposing it removes the keys, closes the journals and deletes the directory.
/// </summary>
public sealed class ProjectedJournal : IAsyncDisposable
{
    private readonly TempDirectory _directory;
    private TestJournal? _restored;

    private ProjectedJournal(RedisScope redis, TempDirectory directory)
    {
        Redis = redis;
        _directory = directory;
        Journal = new TestJournal(directory.DatabasePath);
    }

    public RedisScope Redis { get; }

    /// <summary>The journal on <c>tradestore.duckdb</c> of the throw-away directory.</summary>
    public TestJournal Journal { get; }

    /// <summary>Where <see cref="CopyDatabase"/> puts its copy.</summary>
    public string CopyPath => _directory.File("old.duckdb");

    /// <param name="testClass">Names the Redis key prefix (<see cref="RedisScope.SharedAsync"/>).</param>
    /// <param name="directoryPrefix">Names the throw-away directory.</param>
    public static async Task<ProjectedJournal> CreateAsync(string testClass, string directoryPrefix)
    {
        var redis = await RedisScope.SharedAsync(testClass);
        var directory = new TempDirectory(directoryPrefix);
        try
        {
            return new ProjectedJournal(redis, directory);
        }
        catch
        {
            directory.Dispose();
            await redis.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="commit"/> with a projector observing the journal, waits until Redis holds every committed
    /// event (its checkpoint is <see cref="TestJournal.LastSeq"/>), then stops the projector: Redis is then the projection
    /// of the journal, and nothing writes to it any more.
    /// </summary>
    public async Task ProjectAsync(Action<TestJournal> commit)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var connection = Redis.Connection();
        using var projector = Redis.Projector(Journal.Database, connection);
        Journal.Observers.Add(projector);
        await projector.StartAsync(ct);
        commit(Journal);
        await ProjectorTests.WaitForCheckpointAsync(Redis, Journal.LastSeq);
        await projector.StopAsync(ct);
        Journal.Observers.Clear();
    }

    /// <summary>Checkpoints the journal's DuckDB and copies the file to <see cref="CopyPath"/>: a backup taken at this moment.</summary>
    public void CopyDatabase()
    {
        Journal.Database.Checkpoint();
        File.Copy(_directory.DatabasePath, CopyPath);
    }

    /// <summary>
    /// Closes <see cref="Journal"/> and opens the copy of <see cref="CopyDatabase"/> instead, as an operator restores a
    /// backup: a journal that lacks what was committed after the copy, while Redis still holds it. Disposed with this.
    /// </summary>
    public TestJournal RestoreCopy()
    {
        Journal.Dispose();
        return _restored = new TestJournal(CopyPath);
    }

    public async ValueTask DisposeAsync()
    {
        _restored?.Dispose();
        Journal.Dispose();
        _directory.Dispose();
        await Redis.DisposeAsync();
    }
}
