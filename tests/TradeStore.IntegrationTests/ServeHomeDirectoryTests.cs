using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// From following the README as a new user: the first <c>serve</c> on a machine logged ASP.NET Core's warning "No XML
/// encryptor configured. Key … may be persisted to storage in unencrypted form" and wrote a data-protection key into
/// <c>~/.aspnet/DataProtection-Keys</c>, which nothing uses (a container without a kept home did so at every start).
/// </summary>
public sealed class ServeHomeDirectoryTests : IDisposable
{
    private readonly TempDirectory _work = new("home");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task Serve_FreshHomeDirectory_WritesNothingThereNorWarnsOfADataProtectionKey()
    {
        var home = Directory.CreateDirectory(Path.Combine(_work.Path, "home")).FullName;
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using (var child = TradeStoreProcess.Start(["serve", "--data", Path.Combine(_work.Path, "data"), "--urls", url], _work.Path,
            new Dictionary<string, string> { ["HOME"] = home }))
        {
            await child.WaitUntilAnsweringAsync($"{url}/health/live", TimeSpan.FromSeconds(60));
            await child.WaitForOutputAsync("Connections:", TimeSpan.FromSeconds(30));

            Assert.Empty(Directory.GetFileSystemEntries(home));
            Assert.DoesNotContain("DataProtection", child.Output, StringComparison.Ordinal);
        }
    }
}
