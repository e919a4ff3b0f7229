using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// From session 37's audit of a hostile environment: a data directory whose name is not UTF-8 (Latin-1
/// <c>caf\xe9</c>, from a host with a non-UTF-8 locale). .NET reads the command line as UTF-8 and put U+FFFD for the
/// byte, so <c>serve --data $'…/caf\xe9'</c> created a new, empty directory <c>caf\uFFFD</c> beside the one that held
/// the trades and served from it (exit 0, the trades seemingly gone). It now stops with exit 2 naming
/// Storage:DataDirectory, and creates nothing.
/// </summary>
public sealed class DataDirectoryEncodingTests : IDisposable
{
    private readonly TempDirectory _work = new("data-encoding");

    public void Dispose() => _work.Dispose();

    [Theory]
    [InlineData("serve")]
    [InlineData("verify")]
    public async Task Command_DataDirectoryNamedInLatin1_ExitsTwoSayingItIsNotUtf8_CreatesNoOtherDirectory(string command)
    {
        // The name's bytes cannot be written from .NET (a string is UTF-16): the shell makes the directory and passes them.
        string[] arguments = command == "serve" ? ["serve", "--urls", $"http://127.0.0.1:{FreePort.Next()}"] : [command];
        await using var child = TradeStoreProcess.Start(arguments, _work.Path, new Dictionary<string, string> { ["WORK"] = _work.Path },
            launcher: ["/bin/bash", "-c", """d=$(printf '%s/caf\351' "$WORK"); mkdir "$d" && exec "$@" --data "$d" """, "bash"]);
        var exit = await child.WaitForExitAsync(TimeSpan.FromMinutes(1));

        Assert.True(exit == 2, child.Output);
        Assert.Contains("Storage:DataDirectory: is not UTF-8", child.Output, StringComparison.Ordinal);
        Assert.Single(Directory.GetFileSystemEntries(_work.Path));
    }
}
