using Xunit;

namespace TradeStore.TestSupport;

/// <summary>
/// Every file under a data directory, byte for byte, taken before a command that must leave the directory as it found
/// it (a refused or interrupted <c>recover</c>), to compare with what is there after it.
/// </summary>
public sealed class DataDirectorySnapshot
{
    private readonly string _directory;
    private readonly Dictionary<string, byte[]> _files;

    private DataDirectorySnapshot(string directory)
    {
        _directory = directory;
        _files = Read(directory);
    }

    public static DataDirectorySnapshot Take(string directory) => new(directory);

    /// <summary>Relative name → bytes.</summary>
    public IReadOnlyDictionary<string, byte[]> Files => _files;

    /// <summary>The same files with the same bytes, and no <c>damaged-*</c> folder set aside.</summary>
    public void AssertUnchanged()
    {
        var after = Read(_directory);
        Assert.Equal(_files.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, bytes) in _files)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(after[name]), $"{name} changed");
        }

        Assert.Empty(Directory.GetDirectories(_directory, "damaged-*"));
    }

    private static Dictionary<string, byte[]> Read(string directory) =>
        Directory.GetFiles(directory, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(directory, f), File.ReadAllBytes, StringComparer.Ordinal);
}
