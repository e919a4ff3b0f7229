using TradeStore.Core.Security;
using TradeStore.TestSupport;

namespace TradeStore.Guard.Tests;

public sealed class StatusFileTests : IDisposable
{
    private readonly TempDirectory _work = new("guard-status");

    public void Dispose() => _work.Dispose();

    /// <summary>
    /// The default status file is DIR/tradestore-guard.json and the guard writes it before serve starts, so the guard
    /// creates a new data directory. It did so 0755, which serve then kept: every local account could read the database.
    /// </summary>
    [Fact]
    public void Write_DirectoriesMissing_CreatesEachOwnerOnly()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "POSIX modes");
        var data = Path.Combine(_work.Path, "var", "tradestore");
        var status = new StatusFile(Path.Combine(data, "tradestore-guard.json"));

        status.Write(new GuardStatus { GuardPid = Environment.ProcessId, State = GuardStates.Starting });

        Assert.Equal(PrivateDirectory.Mode, File.GetUnixFileMode(data));
        Assert.Equal(PrivateDirectory.Mode, File.GetUnixFileMode(Path.GetDirectoryName(data)!));
        Assert.Equal(GuardStates.Starting, StatusFile.Read(status.Path)!.State);
    }
}
