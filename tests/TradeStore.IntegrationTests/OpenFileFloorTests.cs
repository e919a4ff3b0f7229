using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// From session 37's audit of a hostile environment: under a small open-file limit (<c>ulimit -n 256</c>, as a macOS shell
/// or a container's <c>--ulimit nofile=256</c> gives) <c>serve</c> died at start with "Could not load file or assembly
/// 'Scalar.AspNetCore' … The system cannot find the file specified" and exit 134, which the guard restarted until it gave
/// up (exit 10); under 64 every command did. Each now stops with exit 2 naming the limit and how to raise it, before it
/// opens or changes anything (OpenFileFloor: 320 files for serve and guard, 128 for the other commands).
/// </summary>
public sealed class OpenFileFloorTests : IDisposable
{
    private readonly TempDirectory _work = new("open-file-floor");

    public void Dispose() => _work.Dispose();

    [Theory]
    [InlineData(256, "serve", 320)]
    [InlineData(256, "guard", 320)]
    [InlineData(64, "verify", 128)]
    public async Task Command_UnderAnOpenFileLimitTooSmallToStart_ExitsTwoNamingTheLimit_CreatesNothing(int openFiles, string command, int floor)
    {
        Assert.SkipUnless(File.Exists("/usr/bin/prlimit"), "needs prlimit (util-linux)");
        var data = Path.Combine(_work.Path, "data");
        string[] arguments = command switch
        {
            "serve" => ["serve", "--data", data, "--urls", $"http://127.0.0.1:{FreePort.Next()}"],
            "guard" => ["guard", "--", "serve", "--data", data, "--urls", $"http://127.0.0.1:{FreePort.Next()}"],
            _ => [command, "--data", data],
        };

        await using var child = TradeStoreProcess.Start(arguments, _work.Path, launcher: ["/usr/bin/prlimit", $"--nofile={openFiles}:{openFiles}"]);
        var exit = await child.WaitForExitAsync(TimeSpan.FromMinutes(1));

        Assert.True(exit == 2, child.Output);
        Assert.StartsWith(
            $"tradestore: the process may open only {openFiles} files (its open-file limit: ulimit -n, systemd LimitNOFILE=, docker run --ulimit nofile=); " +
            $"{command} needs at least {floor}", child.Output.Trim(), StringComparison.Ordinal);
        Assert.Contains("Raise the limit", child.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", child.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(data), "nothing is created");
    }

    /// <summary>Help needs next to no files, and says what the command does even under such a limit.</summary>
    [Fact]
    public async Task Help_UnderASmallOpenFileLimit_IsPrinted()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/prlimit"), "needs prlimit (util-linux)");
        await using var child = TradeStoreProcess.Start(["serve", "--help"], _work.Path, launcher: ["/usr/bin/prlimit", "--nofile=64:64"]);

        Assert.Equal(0, await child.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("Run the TradeStore service", child.Output, StringComparison.Ordinal);
    }
}
