using System.Globalization;
using TradeStore.Core.Options;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// <c>Storage:CheckpointThreshold</c> reaches DuckDB (the default is the documented one rather than DuckDB's 16MB), and
/// an explicit checkpoint waits for other connections' writes instead of failing or aborting them.
/// </summary>
public sealed class DuckDbCheckpointTests : IDisposable
{
    private readonly TempDirectory _dir = new("checkpoint");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(null, 64_000_000)]
    [InlineData("256MB", 256_000_000)]
    [InlineData("1GiB", 1_073_741_824)]
    public void Open_Threshold_SetInDuckDb(string? threshold, long expectedBytes)
    {
        using var database = threshold is null ? DuckDbDatabase.Open(_dir.DatabasePath) : DuckDbDatabase.Open(_dir.DatabasePath, threshold);
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        // DuckDB prints the setting rounded to a unit; the bytes are compared through its own parser.
        command.CommandText = "SELECT current_setting('checkpoint_threshold')";
        var shown = Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture)!;

        Assert.Equal(expectedBytes, Bytes(shown), tolerance: expectedBytes / 100);
        Assert.Equal("64MB", StorageOptions.DefaultCheckpointThreshold);
    }

    [Fact]
    public void Open_ThreadsAndMemoryLimit_SetInDuckDb()
    {
        using var database = DuckDbDatabase.Open(_dir.DatabasePath, StorageOptions.DefaultCheckpointThreshold, threads: 1, memoryLimit: "512MB", maxTempSize: "0B");
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT current_setting('threads'), current_setting('memory_limit'), current_setting('max_temp_directory_size')";
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());

        Assert.Equal(1L, Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture));
        Assert.Equal(512_000_000, Bytes(Convert.ToString(reader.GetValue(1), CultureInfo.InvariantCulture)!), tolerance: 512_000_000 / 100);
        Assert.Equal(0, Bytes(Convert.ToString(reader.GetValue(2), CultureInfo.InvariantCulture)!));
        Assert.Equal(1, new StorageOptions().DuckDbThreads);
        Assert.Equal("0B", new StorageOptions().DuckDbMaxTempSize);
        Assert.Equal("2GB", new StorageOptions().DuckDbMemoryLimit);
    }

    [Fact]
    public void Open_MemoryLimitDuckDbRefuses_OpenErrorNamingIt()
    {
        var error = Assert.Throws<DatabaseOpenException>(() => DuckDbDatabase.Open(_dir.DatabasePath, StorageOptions.DefaultCheckpointThreshold, threads: 1, memoryLimit: "lots"));

        Assert.Contains("memory_limit 'lots'", error.Message);
    }

    [Fact]
    public void Open_ThresholdDuckDbRefuses_OpenErrorNamingTheValueAndFileUntouched()
    {
        var error = Assert.Throws<DatabaseOpenException>(() => DuckDbDatabase.Open(_dir.DatabasePath, "lots"));

        Assert.Contains("checkpoint_threshold 'lots'", error.Message);
        using var again = DuckDbDatabase.Open(_dir.DatabasePath); // the failed open released the file
    }

    [Fact]
    public async Task Checkpoint_AnotherConnectionMidWrite_WaitsForItAndKeepsItsWrite()
    {
        using var database = DuckDbDatabase.Open(_dir.DatabasePath);
        Migrations.DuckDbSchema.MigrateToLatest(database);
        using var writer = database.OpenConnection();
        using (var insert = writer.CreateCommand())
        {
            insert.CommandText = "INSERT INTO sync_checkpoints VALUES ('probe', 1, TIMESTAMP '2026-01-01')";
            insert.ExecuteNonQuery();
        }

        // An UPDATE, as a sink recording its checkpoint does: DuckDB refuses a CHECKPOINT while it is open.
        using var transaction = writer.BeginTransaction();
        using (var update = writer.CreateCommand())
        {
            update.Transaction = transaction;
            update.CommandText = "UPDATE sync_checkpoints SET last_seq = 7 WHERE sink = 'probe'";
            update.ExecuteNonQuery();
        }

        var checkpoint = Task.Run(database.Checkpoint, TestContext.Current.CancellationToken);
        await Task.Delay(200, TestContext.Current.CancellationToken);
        Assert.False(checkpoint.IsCompleted, "the checkpoint waits while the other write transaction is open");
        transaction.Commit();
        await checkpoint.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        using var reader = database.OpenConnection();
        using var count = reader.CreateCommand();
        count.CommandText = "SELECT last_seq FROM sync_checkpoints WHERE sink = 'probe'";
        Assert.Equal(7L, Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture));
    }

    private static long Bytes(string shown)
    {
        var parts = shown.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var number = double.Parse(parts[0], CultureInfo.InvariantCulture);
        var unit = parts.Length > 1 ? parts[1] : "B";
        var factor = unit switch
        {
            "KB" => 1e3, "MB" => 1e6, "GB" => 1e9,
            "KiB" => 1024d, "MiB" => 1024d * 1024, "GiB" => 1024d * 1024 * 1024,
            _ => 1d,
        };
        return (long)(number * factor);
    }
}
