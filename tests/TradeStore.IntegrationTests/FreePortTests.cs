using System.Diagnostics;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// Test processes run side by side (one per test assembly) and each starts servers on ports <see cref="FreePort"/> hands
/// out: a port one process has reserved is never handed out by another.
/// </summary>
public sealed class FreePortTests
{
    [Fact]
    public async Task TryReserve_PortAnotherProcessHolds_Refused()
    {
        var port = Random.Shared.Next(40_000, 60_000);
        Directory.CreateDirectory(FreePort.ReservationDirectory);
        var file = Path.Combine(FreePort.ReservationDirectory, port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // Another process holding the port's lock, as a second test process would (flock, exclusive).
        using var holder = Process.Start(new ProcessStartInfo("python3",
            ["-c", "import fcntl, sys; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()", file])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        })!;
        try
        {
            Assert.Equal("held", await holder.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken));

            Assert.False(FreePort.TryReserve(port), $"port {port} was reserved though another process holds {file}");
        }
        finally
        {
            holder.StandardInput.Close();
            await holder.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        Assert.True(FreePort.TryReserve(port), $"port {port} could not be reserved once the other process ended");
    }

    [Fact]
    public void Next_PortHandedOut_HeldAgainstOtherProcesses()
    {
        var port = FreePort.Next();

        var file = Path.Combine(FreePort.ReservationDirectory, port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var python = Process.Start(new ProcessStartInfo("python3",
            ["-c", "import fcntl, sys\nf = open(sys.argv[1], 'a')\ntry:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB); print('taken')\nexcept BlockingIOError:\n    print('held')", file])
        {
            RedirectStandardOutput = true,
        })!;
        var answer = python.StandardOutput.ReadToEnd().Trim();
        python.WaitForExit();

        Assert.Equal("held", answer);
    }

    [Fact]
    public void Next_PortHandedOut_NeitherReservedNorHandedOutAgainInThisProcess()
    {
        var ports = Enumerable.Range(0, 200).Select(_ => FreePort.Next()).ToList();

        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.All(ports, port => Assert.False(FreePort.TryReserve(port), $"port {port} was reserved a second time by the process holding it"));
    }
}
