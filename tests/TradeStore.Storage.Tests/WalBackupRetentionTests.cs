using Microsoft.Extensions.Logging.Testing;
using TradeStore.Core.Options;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// <c>wal-backups/</c> keeps the newest <see cref="StorageOptions.WalBackupsKept"/> copies of a crash's WAL: it once kept
/// one per unclean stop forever, so a crash-looping service filled the disk.
/// </summary>
public sealed class WalBackupRetentionTests : IDisposable
{
    private readonly TempDirectory _dir = new("wal-backups");

    public void Dispose() => _dir.Dispose();

    private string Folder => Path.Combine(_dir.Path, DatabaseFiles.WalBackupFolder);

    [Fact]
    public void Open_CrashWalWithMoreCopiesThanKept_DeletesTheOldestKeepsTheNewCopyAndOtherFiles()
    {
        LeaveCrashWal();
        var old = Enumerable.Range(1, 5).Select(day => OldCopy($"2026010{day}T120000000Z")).ToList();
        var notes = Other("notes.txt");
        var renamed = Other("tradestore.duckdb.wal.damaged-20260101");
        var wal = File.ReadAllBytes(DatabaseFiles.WalPath(_dir.DatabasePath));
        var logger = new FakeLogger();

        using (var database = DuckDbDatabase.Open(_dir.DatabasePath, walBackupsKept: 3))
        {
            database.LogRemovedWalBackups(logger);

            Assert.NotNull(database.PreservedWal);
            Assert.Equal(wal, File.ReadAllBytes(database.PreservedWal));
            Assert.Equal(old[..3], database.RemovedWalBackups);
            Assert.Equal(new[] { old[3], old[4], database.PreservedWal, notes, renamed }.Order(StringComparer.Ordinal), Directory.GetFiles(Folder).Order(StringComparer.Ordinal));
        }

        var message = Assert.Single(logger.Messages(2031));
        Assert.Contains("Deleted 3 older WAL copies", message, StringComparison.Ordinal);
        Assert.Contains("newest 3 (Storage:WalBackupsKept)", message, StringComparison.Ordinal);
        Assert.All(old[..3], copy => Assert.Contains(Path.GetFileName(copy), message, StringComparison.Ordinal));
    }

    /// <summary>The clock went back (or copies came from another machine): the copy just made is still the one kept.</summary>
    [Fact]
    public void Open_OlderCopiesStampedLaterThanTheNewOne_NewCopyKept()
    {
        LeaveCrashWal();
        var later = new[] { OldCopy("20990101T000000000Z"), OldCopy("20990102T000000000Z") };

        using var database = DuckDbDatabase.Open(_dir.DatabasePath, walBackupsKept: 2);

        Assert.Equal([later[0]], database.RemovedWalBackups);
        Assert.Equal([database.PreservedWal!, later[1]], Directory.GetFiles(Folder).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Open_WithoutRetention_DeletesNoCopy()
    {
        LeaveCrashWal();
        var old = Enumerable.Range(1, 3).Select(day => OldCopy($"2026010{day}T120000000Z")).ToList();

        using var database = DuckDbDatabase.Open(_dir.DatabasePath);

        Assert.Empty(database.RemovedWalBackups);
        Assert.Equal([.. old, database.PreservedWal!], Directory.GetFiles(Folder).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Open_CleanStop_MakesNoCopyAndDeletesNone()
    {
        using (DuckDbDatabase.Open(_dir.DatabasePath))
        {
        }

        var old = Enumerable.Range(1, 3).Select(day => OldCopy($"2026010{day}T120000000Z")).ToList();

        using var database = DuckDbDatabase.Open(_dir.DatabasePath, walBackupsKept: 1);

        Assert.Null(database.PreservedWal);
        Assert.Empty(database.RemovedWalBackups);
        Assert.Equal(old, Directory.GetFiles(Folder).Order(StringComparer.Ordinal));
    }

    /// <summary>A start refused over and over (here a corrupt WAL) deletes nothing: its copies are what the operator examines.</summary>
    [Fact]
    public void Open_CorruptWal_RefusedAndDeletesNoCopy()
    {
        LeaveCrashWal();
        var walPath = DatabaseFiles.WalPath(_dir.DatabasePath);
        var bytes = File.ReadAllBytes(walPath);
        for (var i = bytes.Length / 3; i < (bytes.Length / 3) + 64; i++)
        {
            bytes[i] ^= 0xFF;
        }

        File.WriteAllBytes(walPath, bytes);
        var old = Enumerable.Range(1, 3).Select(day => OldCopy($"2026010{day}T120000000Z")).ToList();

        Assert.Throws<DatabaseOpenException>(() => DuckDbDatabase.Open(_dir.DatabasePath, walBackupsKept: 1));

        var files = Directory.GetFiles(Folder);
        Assert.Equal(4, files.Length);
        Assert.Superset(old.ToHashSet(), files.ToHashSet());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(1001)]
    public void Validate_OutOfRange_FailureNamesTheSetting(int kept)
    {
        var result = new StorageOptionsValidator().Validate(null, new StorageOptions { WalBackupsKept = kept });

        Assert.True(result.Failed);
        Assert.Contains("WalBackupsKept", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("between 1 and 1000", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Default_IsTenAndValid()
    {
        var options = new StorageOptions();

        Assert.Equal(10, options.WalBackupsKept);
        Assert.True(new StorageOptionsValidator().Validate(null, options).Succeeded);
    }

    /// <summary>What a crash leaves: a commit in the WAL, no checkpoint.</summary>
    private void LeaveCrashWal()
    {
        using var database = DuckDbDatabase.Open(_dir.DatabasePath);
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE t (i BIGINT); CHECKPOINT; PRAGMA disable_checkpoint_on_shutdown; INSERT INTO t SELECT range FROM range(100)";
        command.ExecuteNonQuery();
    }

    private string OldCopy(string stamp) => Other($"tradestore.duckdb.wal.{stamp}");

    private string Other(string name)
    {
        Directory.CreateDirectory(Folder);
        var path = Path.Combine(Folder, name);
        File.WriteAllText(path, name);
        return path;
    }
}
