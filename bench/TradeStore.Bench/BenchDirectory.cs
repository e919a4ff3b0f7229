namespace TradeStore.Bench;

/// <summary>A fresh temporary directory for one benchmark's databases, deleted afterwards.</summary>
internal sealed class BenchDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"tradestore-bench-{Guid.NewGuid():N}")).FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS to clean; a benchmark result matters more than a temp folder.
        }
    }
}
