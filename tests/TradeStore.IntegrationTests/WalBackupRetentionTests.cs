using TradeStore.Core.Options;
using TradeStore.Storage;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// <c>serve</c> after an unclean stop keeps only the newest <c>Storage:WalBackupsKept</c> WAL copies in <c>wal-backups/</c>
/// and logs what it deleted: it once kept one copy per unclean stop forever, so a crash-looping service filled the disk.
/// </summary>
public sealed class WalBackupRetentionTests : IDisposable
{
    private readonly TempDirectory _work = new("wal-retention");

    public void Dispose() => _work.Dispose();

    private string Folder => Path.Combine(_work.Path, DatabaseFiles.WalBackupFolder);

    [Fact]
    public async Task Serve_AfterAnUncleanStopWithOldCopies_KeepsTheNewestAndLogsWhatItDeleted()
    {
        LeaveCrashWal();
        var old = new[] { OldCopy("20260101T000000000Z"), OldCopy("20260102T000000000Z"), OldCopy("20260103T000000000Z") };
        var url = $"http://127.0.0.1:{FreePort.Next()}";

        await using (var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__STORAGE__WALBACKUPSKEPT"] = "2" }))
        {
            await child.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));

            Assert.Contains("The last shutdown was not clean", child.Output, StringComparison.Ordinal);
            Assert.Contains($"Deleted 2 older WAL copies from {Folder} to keep the newest 2 (Storage:WalBackupsKept)", child.Output, StringComparison.Ordinal);
            Assert.Contains($"{Path.GetFileName(old[0])}, {Path.GetFileName(old[1])}", child.Output, StringComparison.Ordinal);
        }

        var kept = Directory.GetFiles(Folder).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, kept.Count);
        Assert.Equal(old[2], kept[0]);
        Assert.StartsWith(Path.Combine(Folder, $"{StorageOptions.DatabaseFileName}.wal."), kept[1]);
        Assert.DoesNotContain(kept[1], old);
    }

    /// <summary>The WAL of a live server is not a crash's: a start refused because the database is held deletes no older copy.</summary>
    [Fact]
    public async Task Serve_DatabaseHeldWithALiveWal_ExitsThreeAndDeletesNoCopy()
    {
        var old = new[] { OldCopy("20260101T000000000Z"), OldCopy("20260102T000000000Z") };
        using var holder = DuckDbDatabase.Open(_work.DatabasePath);
        using (var connection = holder.OpenConnection())
        using (var write = connection.CreateCommand())
        {
            write.CommandText = "CREATE TABLE live_wal AS SELECT 1 AS x";
            write.ExecuteNonQuery();
        }

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["serve", "--data", _work.Path, "--urls", $"http://127.0.0.1:{FreePort.Next()}"], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__STORAGE__WALBACKUPSKEPT"] = "1" });

        Assert.True(exitCode == 3, output);
        Assert.Equal(old, Directory.GetFiles(Folder).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1001")]
    [InlineData("all")]
    public async Task Serve_BadWalBackupsKept_ExitsTwoNamingTheKeyBeforeTouchingTheDatabase(string value)
    {
        var (exitCode, output) = await TradeStoreProcess.RunAsync(["serve", "--data", _work.Path], _work.Path,
            new Dictionary<string, string> { ["TRADESTORE__STORAGE__WALBACKUPSKEPT"] = value });

        Assert.True(exitCode == 2, output);
        Assert.Contains("Storage:WalBackupsKept", output, StringComparison.Ordinal);
        Assert.False(File.Exists(_work.DatabasePath), "a bad configuration stops before the database is touched");
    }

    /// <summary>What a crash leaves: a migrated database with a commit in the WAL, no checkpoint.</summary>
    private void LeaveCrashWal()
    {
        using var database = DuckDbDatabase.Open(_work.DatabasePath);
        DuckDbSchema.MigrateToLatest(database);
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA disable_checkpoint_on_shutdown; INSERT INTO sync_checkpoints VALUES ('probe', 0, TIMESTAMP '2026-01-01')";
        command.ExecuteNonQuery();
    }

    private string OldCopy(string stamp)
    {
        Directory.CreateDirectory(Folder);
        var path = Path.Combine(Folder, $"{StorageOptions.DatabaseFileName}.wal.{stamp}");
        File.WriteAllText(path, stamp);
        return path;
    }
}
