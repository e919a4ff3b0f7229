using TradeStore.Core.Security;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// From the security probe of session 26: <c>serve</c> created its data directory and <c>journal/</c> 0755 and DuckDB and
/// the journal log wrote their files 0644 (the usual umask), so every local account could read every trade of every
/// account, past API keys and account scopes. Directories the service creates are now its owner's only; one that exists
/// keeps the mode the operator gave it.
/// </summary>
public sealed class DataDirectoryModeTests : IDisposable
{
    private readonly TempDirectory _work = new("data-mode");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task Serve_NewDataDirectory_CreatedReadableByItsOwnerOnly_AnExistingOneKeepsItsMode()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes");
        var created = Path.Combine(_work.Path, "new", "data");
        var existing = Path.Combine(_work.Path, "existing");
        Directory.CreateDirectory(existing, PrivateDirectory.Mode | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);

        foreach (var data in new[] { created, existing })
        {
            var url = $"http://127.0.0.1:{FreePort.Next()}";
            await using var child = TradeStoreProcess.Start(["serve", "--data", data, "--urls", url], _work.Path);
            await child.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
            child.Signal(15);
            Assert.Equal(0, await child.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }

        Assert.Equal(PrivateDirectory.Mode, File.GetUnixFileMode(Path.Combine(_work.Path, "new")));
        Assert.Equal(PrivateDirectory.Mode, File.GetUnixFileMode(created));
        Assert.Equal(PrivateDirectory.Mode, File.GetUnixFileMode(Path.Combine(created, "journal")));
        Assert.Equal(PrivateDirectory.Mode | UnixFileMode.GroupRead | UnixFileMode.GroupExecute, File.GetUnixFileMode(existing));
        Assert.Equal(PrivateDirectory.Mode, File.GetUnixFileMode(Path.Combine(existing, "journal")));
    }
}
