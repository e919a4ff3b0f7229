using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>What TradeStore does with a WAL that a crash left behind, whole, torn or corrupt.</summary>
public sealed class DamagedDatabaseTests : IDisposable
{
    private readonly TempDirectory _dir = new("damaged");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Open_CorruptWal_PlainErrorAndEveryFileUntouched()
    {
        WriteWithoutCheckpoint(batches: 20);
        var wal = DatabaseFiles.WalPath(_dir.DatabasePath);
        var bytes = File.ReadAllBytes(wal);
        for (var i = bytes.Length / 3; i < (bytes.Length / 3) + 64; i++)
        {
            bytes[i] ^= 0xFF;
        }

        File.WriteAllBytes(wal, bytes);
        var databaseBefore = File.ReadAllBytes(_dir.DatabasePath);

        var error = Assert.Throws<DatabaseOpenException>(() => DuckDbDatabase.Open(_dir.DatabasePath));

        Assert.Contains("WAL", error.Message);
        Assert.Contains(_dir.DatabasePath, error.Message);
        Assert.Contains("No file was moved or deleted", error.Message);
        Assert.Equal(bytes, File.ReadAllBytes(wal));
        Assert.Equal(databaseBefore, File.ReadAllBytes(_dir.DatabasePath));
    }

    [Fact]
    public void Open_TruncatedWal_CopyKeptBeforeDuckDbReplaysIt()
    {
        WriteWithoutCheckpoint(batches: 20);
        var wal = DatabaseFiles.WalPath(_dir.DatabasePath);
        var whole = File.ReadAllBytes(wal);
        File.WriteAllBytes(wal, whole[..(whole.Length / 2)]);

        using var database = DuckDbDatabase.Open(_dir.DatabasePath);

        Assert.NotNull(database.PreservedWal);
        Assert.Equal(whole[..(whole.Length / 2)], File.ReadAllBytes(database.PreservedWal));
        Assert.True(Count(database) < 2_000, "DuckDB replays only the whole entries of a torn WAL");
    }

    [Fact]
    public void SetAside_DamagedFiles_MovedIntoDatedFolderNothingDeleted()
    {
        WriteWithoutCheckpoint(batches: 2);
        var databaseBytes = File.ReadAllBytes(_dir.DatabasePath);
        var walBytes = File.ReadAllBytes(DatabaseFiles.WalPath(_dir.DatabasePath));

        var folder = DatabaseFiles.SetAside(_dir.DatabasePath);

        Assert.StartsWith(Path.Combine(_dir.Path, "damaged-"), folder);
        Assert.False(File.Exists(_dir.DatabasePath));
        Assert.Equal(databaseBytes, File.ReadAllBytes(Path.Combine(folder, "tradestore.duckdb")));
        Assert.Equal(walBytes, File.ReadAllBytes(Path.Combine(folder, "tradestore.duckdb.wal")));
    }

    /// <summary>Leaves committed rows only in the WAL, as a crash would.</summary>
    private void WriteWithoutCheckpoint(int batches)
    {
        using var database = DuckDbDatabase.Open(_dir.DatabasePath);
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE t (i BIGINT, s VARCHAR); CHECKPOINT; PRAGMA disable_checkpoint_on_shutdown;";
        command.ExecuteNonQuery();
        for (var b = 0; b < batches; b++)
        {
            command.CommandText = $"INSERT INTO t SELECT range, 'row ' || range FROM range({b * 100}, {(b * 100) + 100})";
            command.ExecuteNonQuery();
        }
    }

    private static long Count(DuckDbDatabase database)
    {
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM t";
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
